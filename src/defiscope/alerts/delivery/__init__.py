"""Delivery of alert messages from the outbox: the worker, the channels (signed webhooks, e-mail), SSRF defences.

`settings` (how hard to try, where mail goes, which private hosts a webhook may reach), `ssrf` (the address policy
applied at connect time), `webhook` and `mail` (one attempt each, an `Outcome`), `queue` (claims and outcomes
in the database), `worker` (the loop that ties them together).
"""
