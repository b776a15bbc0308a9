"""Start and stop the tscolab kernel N times through jupyter_client, the way
Jupyter Notebook does (KernelManager.start_kernel, wait for kernel_info, then
shutdown_kernel: a shutdown_request on the control channel, then a wait).

A cycle is clean when the kernel process exits by itself with code 0 and
writes nothing alarming to stderr (no 'terminate called', no 'Napi::Error',
no heap corruption report, no abort). An abort is a cycle that died by a
signal or said so on stderr. Prints one JSON line per unclean cycle and a summary line:

    {"cycles": N, "clean": C, "aborts": A, "seconds": S, "per_cycle_ms": M}

Exit code 0 when every cycle was clean. Usage:
    python3 shutdown_cycles.py [N] [--kernel NAME]
"""
import json
import os
import sys
import tempfile
import time

from jupyter_client import KernelManager

BAD = ("terminate called", "Napi::Error", "Aborted", "core dumped", "Segmentation fault", "corrupted", "double free", "free():", "malloc")


def one_cycle(kernel_name, index):
    with tempfile.TemporaryFile(mode="w+b") as err:
        km = KernelManager(kernel_name=kernel_name)
        km.start_kernel(stdout=err, stderr=err)
        proc = km.provisioner.process
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
        finally:
            kc.stop_channels()
        km.shutdown_kernel(now=False)
        code = proc.wait(timeout=30)
        err.seek(0)
        text = err.read().decode("utf8", "replace")
    bad = [b for b in BAD if b in text]
    return {"cycle": index, "exit": code, "bad": bad, "stderr": text[-600:]} if code != 0 or bad else None


def main():
    args = [a for a in sys.argv[1:]]
    kernel_name = "tscolab"
    if "--kernel" in args:
        i = args.index("--kernel")
        kernel_name = args[i + 1]
        del args[i : i + 2]
    n = int(args[0]) if args else 200
    t0 = time.monotonic()
    unclean = []
    for i in range(n):
        problem = one_cycle(kernel_name, i)
        if problem:
            unclean.append(problem)
            print(json.dumps(problem), flush=True)
    seconds = time.monotonic() - t0
    aborts = sum(1 for p in unclean if p["bad"] or p["exit"] < 0 or p["exit"] >= 128)
    summary = {"cycles": n, "clean": n - len(unclean), "aborts": aborts, "seconds": round(seconds, 1), "per_cycle_ms": round(seconds * 1000 / n)}
    print(json.dumps(summary), flush=True)
    sys.exit(0 if not unclean else 1)


if __name__ == "__main__":
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    main()
