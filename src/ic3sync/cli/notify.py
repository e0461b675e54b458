"""notify-test: a sample notification through every configured channel."""

from __future__ import annotations

import typer

from ic3sync.cli.exits import EXIT_FATAL, EXIT_OK, err, errors_as_exit_codes, fail, out
from ic3sync.terminal import escape


def notify_test() -> None:
    """Send a sample notification to every configured channel and say how each went."""
    from ic3sync import bootstrap
    from ic3sync.notify import Notifications, sample_notice

    with errors_as_exit_codes():
        settings = bootstrap.load_settings()
        notifications = Notifications.from_settings(settings)
        if not notifications.configured:
            fail(
                "no notification is configured: set IC3_NOTIFY_WEBHOOK_URL, or "
                "IC3_NOTIFY_EMAIL_TO with IC3_SMTP_URL"
            )
        deliveries = notifications.deliver(sample_notice(settings.public_url))
    for d in deliveries:
        tries = f"{d.attempts} attempt{'s' if d.attempts != 1 else ''}"
        if d.ok:
            out.print(f"[green]sent[/] {escape(d.where)} ({tries})", highlight=False)
        else:
            err.print(f"[red]failed[/] {escape(d.detail)} ({tries})", highlight=False)
    out.print(f"notifications are sent on: {settings.notify_on}", highlight=False)
    raise typer.Exit(EXIT_OK if all(d.ok for d in deliveries) else EXIT_FATAL)
