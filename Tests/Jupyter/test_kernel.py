"""NST Lab's Jupyter kernel, tested from outside as Jupyter front ends use it.

- The Jupyter project's kernel test suite (jupyter_kernel_test), subclassed for nstlab.
- Our own checks with jupyter_client: state across cells, an interrupt in the middle of `run`, a failed
  cell, restart, a message with a wrong signature, the heartbeat during a long run.
- Lessons converted with `lab convert`, validated by nbformat and executed by nbclient.

./test runs it (`python -m unittest discover -s Tests/Jupyter`) in .build/jupyter-venv, where it installs
jupyter_client, jupyter_kernel_test, nbclient and nbformat from PyPI and the kernelspec (lab kernel install
--prefix .build/jupyter-venv). NSTLAB_ALL_LESSONS=1 executes every lesson instead of three.
"""
import glob
import hashlib
import hmac
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest
import uuid

import jupyter_client
import jupyter_kernel_test
import nbclient
import nbformat
import zmq

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(REPO, ".build", "release", "lab")


class NSTLabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "nstlab"
    language_name = "nstlab"
    file_extension = ".nstlab"
    completion_samples = [
        {"text": "set --pre", "matches": {"--preset"}},
        {"text": "gra", "matches": {"grad", "gradcheck", "gram"}},
        {"text": "features block5_conv", "matches": {"block5_conv1", "block5_conv2", "block5_conv3", "block5_conv4"}},
    ]
    complete_code_samples = ["step 3", "help", "let x = 1"]
    incomplete_code_samples = ["set --size 48 \\"]
    code_page_something = "step?"
    code_generate_error = "bogus"
    code_display_data = [{"code": "set --size 32\ncontent images/chelsea.png\nshow content", "mime": "image/png"}]
    code_execute_result = [{"code": "1 + 2", "result": "3"}, {"code": "numel(zeros(2, 3))", "result": "6"}]
    code_history_pattern = "1 +*"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "gradcheck"


class KernelBehaviour(unittest.TestCase):
    def setUp(self):
        self.km, self.kc = jupyter_client.manager.start_new_kernel(kernel_name="nstlab", cwd=REPO)

    def tearDown(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def run_cell(self, code, timeout=300):
        outputs = []
        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=outputs.append)
        return reply["content"], outputs

    def load(self):
        reply, _ = self.run_cell("set --size 48\ncontent images/chelsea.png\nstyle images/hubble_deep_field.jpg")
        self.assertEqual(reply["status"], "ok", reply)

    def test_state_carries_across_cells(self):
        self.load()
        self.assertEqual(self.run_cell("step 2")[0]["status"], "ok")
        reply, outputs = self.run_cell("let n = 3")
        reply, outputs = self.run_cell("n * 2")
        results = [o["content"]["data"]["text/plain"] for o in outputs if o["msg_type"] == "execute_result"]
        self.assertEqual(results, ["6"])
        self.assertEqual(self.run_cell("expect iteration == 2")[0]["status"], "ok")

    def test_run_shows_its_progress_in_place_and_then_its_loss(self):
        self.load()
        reply, outputs = self.run_cell("run 4 --every 1")
        self.assertEqual(reply["status"], "ok")
        shown = [o for o in outputs if o["msg_type"] == "display_data" and "transient" in o["content"]]
        updates = [o for o in outputs if o["msg_type"] == "update_display_data"]
        self.assertEqual(len(shown), 1, "one display for the progress")
        display_id = shown[0]["content"]["transient"]["display_id"]
        self.assertEqual(len(updates), 3)
        self.assertTrue(all(u["content"]["transient"]["display_id"] == display_id for u in updates))
        self.assertIn("iteration    4 ", updates[-1]["content"]["data"]["text/plain"])
        plots = [o for o in outputs if o["msg_type"] == "display_data" and "image/png" in o["content"]["data"]]
        self.assertEqual(len(plots), 1, "the loss plot at the end")
        self.assertTrue(all("\\u001b" not in json.dumps(o["content"]) for o in outputs), "no terminal escapes")

    def test_a_failed_cell_stops_there_and_changes_nothing(self):
        self.load()
        reply, outputs = self.run_cell("set --size 5\nstep 1")
        self.assertEqual(reply["status"], "error")
        self.assertIn("size", reply["evalue"])
        errors = [o for o in outputs if o["msg_type"] == "error"]
        self.assertEqual(len(errors), 1)
        self.assertEqual(self.run_cell("expect iteration == 0")[0]["status"], "ok", "the cell stopped at its failing line")
        reply, outputs = self.run_cell("config")
        text = "".join(o["content"].get("text", "") for o in outputs if o["msg_type"] == "stream")
        self.assertRegex(text, r"--size\s+48\b")

    def reply_to(self, msg_id):
        """The shell reply to request `msg_id` (skipping others)."""
        reply = self.kc.get_shell_msg(timeout=30)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=30)
        return reply

    def wait_for_output(self, needle, deadline):
        """Reads iopub until a message's text contains `needle`; returns the seconds it took."""
        start = time.time()
        while time.time() - start < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=1)
            except Exception:
                continue
            text = json.dumps(msg["content"])
            if needle in text:
                return time.time() - start
        self.fail(f"never saw {needle!r}")

    def test_an_interrupt_stops_a_run_and_keeps_the_session(self):
        self.load()
        msg_id = self.kc.execute("run 100000 --every 1")
        self.wait_for_output("iteration    3 ", 120)
        start = time.time()
        self.km.interrupt_kernel()  # interrupt_mode message: an interrupt_request on control
        reply = self.reply_to(msg_id)
        self.assertLess(time.time() - start, 10)
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")
        self.assertTrue(self.km.is_alive())
        self.assertEqual(self.run_cell("expect iteration >= 3")[0]["status"], "ok")
        self.assertEqual(self.run_cell("expect iteration < 100000")[0]["status"], "ok")
        self.assertEqual(self.run_cell("step 1")[0]["status"], "ok", "the session goes on")

    def test_sigint_interrupts_too(self):
        self.load()
        msg_id = self.kc.execute("run 100000 --every 1")
        self.wait_for_output("iteration    2 ", 120)
        os.kill(self.km.provisioner.process.pid, signal.SIGINT)
        reply = self.reply_to(msg_id)
        self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")
        self.assertEqual(self.run_cell("step 1")[0]["status"], "ok", "the kernel goes on")

    def test_the_heartbeat_answers_during_a_long_run(self):
        self.load()
        self.kc.execute("run 100000 --every 1")
        self.wait_for_output("iteration    2 ", 120)
        info = self.km.get_connection_info()
        context = zmq.Context.instance()
        beat = context.socket(zmq.REQ)
        beat.setsockopt(zmq.LINGER, 0)
        beat.connect(f"{info['transport']}://{info['ip']}:{info['hb_port']}")
        try:
            for _ in range(3):
                start = time.time()
                beat.send(b"ping")
                self.assertTrue(beat.poll(2000), "no heartbeat within 2 s during a run")
                self.assertEqual(beat.recv(), b"ping")
                self.assertLess(time.time() - start, 2)
        finally:
            beat.close()
        self.km.interrupt_kernel()

    def test_restart_gives_a_fresh_session(self):
        self.load()
        self.km.restart_kernel(now=True)
        self.kc.stop_channels()
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        reply, _ = self.run_cell("step 1")
        self.assertEqual(reply["status"], "error")
        self.assertIn("content", reply["evalue"])

    def test_a_message_with_a_wrong_signature_is_not_executed(self):
        info = self.km.get_connection_info()
        context = zmq.Context.instance()
        dealer = context.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(f"{info['transport']}://{info['ip']}:{info['shell_port']}")
        try:
            header = {"msg_id": str(uuid.uuid4()), "session": "x", "username": "x", "date": "2026-12-06T00:00:00Z",
                      "msg_type": "execute_request", "version": "5.3"}
            content = {"code": "let hacked = 1", "silent": False, "store_history": True, "user_expressions": {},
                       "allow_stdin": False, "stop_on_error": True}
            parts = [json.dumps(p).encode() for p in (header, {}, {}, content)]
            wrong = hmac.new(b"not the key", b"".join(parts), hashlib.sha256).hexdigest().encode()
            dealer.send_multipart([b"<IDS|MSG>", wrong] + parts)
            self.assertFalse(dealer.poll(1500), "a reply came to a badly signed request")
        finally:
            dealer.close()
        reply, _ = self.run_cell("hacked")
        self.assertEqual(reply["status"], "error")
        self.assertIn("unknown", reply["evalue"])


def lessons_to_run():
    every = sorted(glob.glob(os.path.join(REPO, "lessons", "[0-9][0-9]-*.md")))
    if os.environ.get("NSTLAB_ALL_LESSONS"):
        return every
    return [p for p in every if os.path.basename(p)[:2] in ("01", "03", "16")]


class LessonsAsNotebooks(unittest.TestCase):
    def test_lessons_convert_validate_and_run(self):
        for lesson in lessons_to_run():
            with self.subTest(lesson=os.path.basename(lesson)):
                with tempfile.TemporaryDirectory() as tmp:
                    path = os.path.join(tmp, "lesson.ipynb")
                    subprocess.run([LAB, "convert", lesson, path], check=True, capture_output=True)
                    nb = nbformat.read(path, as_version=4)
                    nbformat.validate(nb)
                    self.assertEqual(nb.metadata.kernelspec.name, "nstlab")
                    start = time.time()
                    client = nbclient.NotebookClient(nb, kernel_name="nstlab", timeout=900, resources={"metadata": {"path": REPO}})
                    client.execute()
                    print(f"{os.path.basename(lesson)}: {time.time() - start:.1f} s through the kernel")
                    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
                    errors = [o for o in outputs if o.output_type == "error"]
                    self.assertEqual(errors, [], f"{lesson}: {errors[:1]}")
                    pictures = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.data]
                    source = open(lesson, encoding="utf-8").read()
                    if any(f"\n{c} " in source for c in ("show", "features", "gram", "grad", "compare", "diff", "reconstruct")):
                        self.assertTrue(pictures, f"{lesson}: no pictures")
                    # And back: the notebook as Markdown is a lesson `lab run` passes.
                    md = os.path.join(tmp, "back.md")
                    subprocess.run([LAB, "convert", path, md], check=True, capture_output=True)

    def test_a_refusal_an_expectation_wants_is_no_error(self):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "nstlab", "display_name": "NST Lab", "language": "nstlab"}
        nb.cells = [nbformat.v4.new_code_cell("expect error set --size 5\nexpect error bogus")]
        nbclient.NotebookClient(nb, kernel_name="nstlab", timeout=120, resources={"metadata": {"path": REPO}}).execute()
        self.assertEqual([o for o in nb.cells[0].outputs if o.output_type == "error"], [])

    def test_a_failed_expectation_fails_the_notebook(self):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "nstlab", "display_name": "NST Lab", "language": "nstlab"}
        nb.cells = [nbformat.v4.new_code_cell("expect close 1 2")]
        with self.assertRaises(nbclient.exceptions.CellExecutionError):
            nbclient.NotebookClient(nb, kernel_name="nstlab", timeout=120, resources={"metadata": {"path": REPO}}).execute()


if __name__ == "__main__":
    unittest.main()
