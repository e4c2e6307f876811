"""The round-trip floor of ``serve.py``: uvicorn as ``serve`` runs it, with an empty app.

Started as ``python bench/_serve_floor.py``: listens on a free loopback port, prints
``listening <port>`` and answers every request with a small JSON body until stopped. The
server is configured by ``bank_desktop.http.server.server_config`` (the same protocol class,
deadlines and settings as ``bank-desktop serve``), so the difference to ``serve`` is the
application: routing, parsing, the command, the commit.
"""

from __future__ import annotations

import sys
from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    while (await receive()).get("more_body"):
        pass
    body = b'{"accountId":"account-floor","newBalance":101.00,"message":"Deposited $1.00"}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    import uvicorn

    from bank_desktop.http.server import listen, server_config

    sock = listen("127.0.0.1", 0)
    server = uvicorn.Server(server_config(app))  # type: ignore[arg-type]
    print(f"listening {sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])
    sys.exit(0)


if __name__ == "__main__":
    main()
