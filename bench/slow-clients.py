#!/usr/bin/env python3
"""Slow clients for `npm run bench`: N boards that read at RATE bytes/s.

Each client has a small receive buffer (SO_RCVBUF, set before connect, which
also stops the kernel from growing it), so the server really has to hold the
rest of the body while the client reads slowly, as a board on Wi-Fi does.
Clients start spread over SPREAD seconds, read for HOLD seconds, then hang up.
Prints one JSON object: time to first byte of each client (ms), errors, bytes.
Written in Python because Node cannot set SO_RCVBUF on a TCP socket.
"""
import argparse
import asyncio
import json
import socket
import time


async def client(args, request, start_delay, results):
    await asyncio.sleep(start_delay)
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
    sock.setblocking(False)
    t0 = time.monotonic()
    try:
        await loop.sock_connect(sock, ("127.0.0.1", args.port))
        await loop.sock_sendall(sock, request)
        first = await asyncio.wait_for(loop.sock_recv(sock, 4096), timeout=30)
        if not first:
            raise ConnectionError("closed before the first byte")
        results["ttfb_ms"].append((time.monotonic() - t0) * 1000)
        received = len(first)
        chunk = max(1, args.rate // 10)
        end = time.monotonic() + args.hold
        while time.monotonic() < end:
            tick = time.monotonic()
            data = await asyncio.wait_for(loop.sock_recv(sock, chunk), timeout=30)
            if not data:
                break
            received += len(data)
            await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))
        results["bytes"] += received
    except Exception as error:  # a failed client is counted, not fatal
        results["errors"] += 1
        results["last_error"] = repr(error)
    finally:
        sock.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/fw.bin")
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--rate", type=int, default=100 * 1024)
    p.add_argument("--spread", type=float, default=2.0)
    p.add_argument("--hold", type=float, default=3.0)
    p.add_argument("--rcvbuf", type=int, default=16 * 1024)
    p.add_argument("--header", action="append", default=[])
    args = p.parse_args()
    lines = [f"GET {args.path} HTTP/1.0", "Host: 127.0.0.1", *args.header, "", ""]
    request = "\r\n".join(lines).encode("latin-1")
    results = {"ttfb_ms": [], "errors": 0, "bytes": 0}
    step = args.spread / max(1, args.clients)
    await asyncio.gather(*(client(args, request, i * step, results) for i in range(args.clients)))
    print(json.dumps(results))


asyncio.run(main())
