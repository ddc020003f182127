"""Alerts: rules evaluated on every indexed block, alert records, and their delivery.

`message` is the contract between the two halves: the evaluator (`rules`, `evaluate`) turns a block's figures
into `AlertMessage`s and hands them to an `AlertSink` inside the transaction that stores the alert; delivery
(`outbox`, the channels) takes them from there, at least once.
"""
