"""Run the noticeflow worker: ``python worker.py`` (settings from NOTICEFLOW_* / .env)."""

import asyncio

from noticeflow.settings import get_settings
from noticeflow.worker import run_worker

if __name__ == "__main__":
    asyncio.run(run_worker(get_settings()))
