"""Best-route quotes over V2, V3 and Curve pools, and ready-to-sign swap transactions.

``pools`` (pure pool objects), ``load`` (batched reads into them), ``search`` (multi-hop and split routes,
no I/O), ``tx`` (router calldata), ``plan`` (end to end, used by ``defiscope quote``).
"""
