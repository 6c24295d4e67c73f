#!/usr/bin/env python3
"""A TCP proxy that delays each direction: a build node at a real network
distance, on loopback (this kernel has no netem).

    bench/delay_proxy.py LISTEN_PORT TARGET_PORT ONE_WAY_MS

Every chunk read from one side is written to the other ONE_WAY_MS later, in
order, so a request and its answer cost 2 * ONE_WAY_MS: the round trip. A
new connection reaches the target one round trip late, as the TCP handshake
would. Prints "ready" once it listens.
"""
import asyncio
import socket
import sys


async def forward(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def read():
        while True:
            try:
                data = await reader.read(65536)
            except ConnectionError:
                data = b""
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                return

    async def write():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                try:
                    writer.write_eof()
                except (OSError, RuntimeError):
                    pass
                return
            try:
                writer.write(data)
                await writer.drain()
            except ConnectionError:
                return

    await asyncio.gather(read(), write())


def no_delay(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def main(listen, target, delay):
    async def handle(client_r, client_w):
        no_delay(client_w)
        await asyncio.sleep(2 * delay)
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_w.close()
            return
        no_delay(up_w)
        await asyncio.gather(
            forward(client_r, up_w, delay), forward(up_r, client_w, delay)
        )
        for w in (client_w, up_w):
            w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    listen_port, target_port, one_way_ms = (int(a) for a in sys.argv[1:4])
    try:
        asyncio.run(main(listen_port, target_port, one_way_ms / 1000))
    except KeyboardInterrupt:
        pass
