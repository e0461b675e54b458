"""The operations dashboard at `/`: server-rendered pages over the run manager and the read side,
a session login when IC3_ADMIN_TOKEN is set, and every state change as a same-origin POST.
Request checks are in checks.py, template setup in templating.py, the pages in pages.py."""

from ic3sync.api.dashboard.pages import install

__all__ = ["install"]
