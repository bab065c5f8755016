"""Figures for the kernel (not a test): start-up to ready, a trivial cell's round trip (execute `help`
until idle), and `step` at 128 rows through the kernel against the step's own time as the shell
reports it. Run on an idle machine, in the venv Tests/Jupyter/run makes:

    .build/jupyter-venv/bin/python Tests/Jupyter/bench_kernel.py
"""
import os
import re
import statistics
import time

import jupyter_client

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    starts = []
    for _ in range(3):
        t = time.time()
        km, kc = jupyter_client.manager.start_new_kernel(kernel_name="nstlab", cwd=REPO)
        starts.append(time.time() - t)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="nstlab", cwd=REPO)
    try:
        def cell(code):
            out = []
            t = time.time()
            kc.execute_interactive(code, timeout=600, output_hook=out.append)
            return time.time() - t, out
        trips = [cell("help")[0] for _ in range(20)]
        cell("set --size 128\ncontent images/chelsea.png\nstyle images/hubble_deep_field.jpg\nstep 1")
        kernel, own = [], []
        for _ in range(10):
            seconds, out = cell("step 1")
            # The iteration line is shown as the progress display (display_data), not as a stream.
            text = "".join(o["content"].get("data", {}).get("text/plain", "") for o in out if o["msg_type"] == "display_data")
            kernel.append(seconds)
            own.append(float(re.findall(r"([0-9.]+) s\n", text)[-1]))
        print(f"kernel start-up to ready: median {statistics.median(starts):.2f} s (of 3)")
        print(f"a trivial cell (help) round trip: median {1000 * statistics.median(trips):.1f} ms (of 20)")
        print(f"step at 128 rows: through the kernel {statistics.median(kernel):.3f} s, the step itself {statistics.median(own):.3f} s "
              f"(ratio {statistics.median(kernel) / statistics.median(own):.2f}; medians of 10)")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
