"""Configuration shared by every layer: the ``NOTICEFLOW_*`` settings (``config.settings``).

It sits below the activities, the API and the CLI, so that none of them has to import another's
package to read its settings."""
