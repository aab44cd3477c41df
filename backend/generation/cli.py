"""``python main.py serve MODEL``: serve a model folder or ``zoo:NAME`` on an OpenAI-compatible endpoint.

    python main.py serve zoo:arith-base            # a free port
    python main.py serve /models/qwen --host 0.0.0.0 --port 8000 --device cuda --name qwen

Prints ``serving MODEL on http://HOST:PORT/v1`` once listening (``--port 0`` picks a free port),
then serves until Ctrl+C or SIGTERM.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a model on an OpenAI-compatible HTTP endpoint (/v1/completions)",
                       description="An OpenAI-compatible server for a model folder or zoo:NAME (seeded sampling "
                                   "as in the hf engine). Use it from any OpenAI client or with --engine openai.")
    p.add_argument("model", help="model folder or zoo:NAME")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: a free one; the printed line names it)")
    p.add_argument("--name", help="model id the server answers to (default: MODEL as given)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--dtype", default="auto", help="auto (bf16 on CUDA, else fp32), float32, bfloat16, float16")
    p.add_argument("--max-batch", type=int, default=64, help="most rows the model runs in one batch")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port {args.port}: must be between 0 and 65535")
    if args.max_batch < 1:
        raise ValueError(f"--max-batch {args.max_batch}: must be at least 1")
    from backend.cli.common import model_arg
    from backend.devices import resolve_device
    from backend.generation.policy import Policy
    from backend.generation.serve import make_server

    model = model_arg(args.model, check=True)
    device = resolve_device(args.device)
    policy = Policy.load(model, device, args.dtype)
    try:
        httpd, service = make_server(policy, args.name or args.model, args.host, args.port, args.max_batch)
    except OSError as exc:
        raise ValueError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    host, port = args.host, httpd.server_port

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=httpd.shutdown, daemon=True).start()   # shutdown() waits for serve_forever

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"model on {device}; Ctrl+C or SIGTERM stops the server", file=sys.stderr, flush=True)
    print(f"serving {args.name or args.model} on http://{host}:{port}/v1", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        service.worker.stop()
    print("server stopped", file=sys.stderr, flush=True)
    return 0
