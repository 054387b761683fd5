"""Notifications (issue 16): the core module apps call with an event (`services.notify`);
it knows no app. See models.py for what is stored, kinds.py for the events and their words,
channels.py for e-mail and the signed webhooks, tasks.py for the jobs."""
