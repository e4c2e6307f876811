"""``Idempotency-Key``: the header becomes the command id, and a key names one request forever.

The binding lives in the store, not in this process: ``BankService`` claims every key it is
given before the command runs (:mod:`bank_desktop.application.request_claims`), so the same key
and body again return the first result without writing, and the same key for another request
(another body, account or endpoint) is refused with 422, also after a restart and through any
other server or desk sharing the store.
"""

from __future__ import annotations

from typing import Final

HEADER: Final = "Idempotency-Key"
