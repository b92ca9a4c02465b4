"""The dev stack's database service: ``noticeflow db upgrade`` before the worker and the API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from ledger.errors import LedgerError
from ledger.migrate import UpgradeResult, upgrade
from noticeflow.logging import get_logger

if TYPE_CHECKING:
    from noticeflow.devstack import DevStack

log = get_logger(__name__)


@dataclass
class DevDatabase:
    """Brings the stack's database to the newest migration before the worker and the API open
    it; a database the migrations cannot take forward stops the stack with the reason. Runs
    until the stack stops."""

    name: str = "database"
    result: UpgradeResult | None = field(default=None, init=False)
    _stopped: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    async def start(self, stack: DevStack) -> None:
        try:
            self.result = await asyncio.to_thread(upgrade, stack.settings.resolved_db_url())
        except (LedgerError, SQLAlchemyError) as exc:
            from noticeflow.devstack import DevStackError

            raise DevStackError(f"the database cannot be upgraded: {exc}") from None
        log.info("dev_database_ready", revision=self.result.after, adopted=self.result.adopted)

    async def wait(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()
