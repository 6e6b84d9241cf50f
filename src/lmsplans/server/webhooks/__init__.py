"""Webhooks: endpoints an organisation registers, and the signed deliveries of its events.

`service.enqueue_event` is what a write calls (in its own transaction) to queue an event
for every enabled endpoint that wants it; `delivery` sends the queue, in order per endpoint,
with retries (`runner` runs it in the server or in `lmsplans worker`).
"""
