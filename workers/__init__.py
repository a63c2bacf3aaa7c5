"""Long-running processes: the IMAP poller, the SMTP listener, the sender, the scheduler.

Each worker has ``run_once()``; ``run_forever`` (or the scheduler) only loops over it.
"""
