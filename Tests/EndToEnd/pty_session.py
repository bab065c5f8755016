#!/usr/bin/env python3
"""Drives the real `lab` binary under a pseudo-terminal, as a person would: types commands, a Tab
completion and a Ctrl-C, and checks what the screen shows. Standard library only (pty).

    python3 Tests/EndToEnd/pty_session.py .build/release/lab FIXTURES_DIR
Exit status 0 when every expectation held; otherwise the transcript is printed.
"""
import os
import pty
import re
import select
import sys
import tempfile
import time

lab, fixtures = sys.argv[1], sys.argv[2]
transcript = b""
cursor = 0   # where the next read_until looks from: just past the text the last one matched


def read_until(fd, needle, timeout=120):
    """Waits until `needle` shows after the text the previous call matched (as pexpect's expect
    does), or the timeout. Each wait is for an event on the screen, never for a guessed time: a
    prompt matched here is the one printed after the last thing waited for, not an earlier one."""
    global transcript, cursor
    want = needle.encode()
    deadline = time.time() + timeout
    while True:
        at = transcript.find(want, cursor)
        if at >= 0:
            cursor = at + len(want)
            return True
        if time.time() >= deadline:
            return False
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:   # the program is gone: nothing more will show
                at = transcript.find(want, cursor)
                if at >= 0:
                    cursor = at + len(want)
                return at >= 0
            transcript += chunk


def start_transcript():
    global transcript, cursor
    transcript, cursor = b"", 0


def fail(why):
    sys.stdout.write(transcript.decode(errors="replace"))
    print(f"\nFAILED: {why}")
    sys.exit(1)


home = tempfile.mkdtemp()
env = dict(os.environ, HOME=home, NO_COLOR="1", TERM="xterm")
pid, fd = pty.fork()
if pid == 0:
    os.execve(lab, [lab, "--out", os.path.join(home, "out")], env)

if not read_until(fd, "lab> "):
    fail("no prompt")
os.write(fd, b"hel\t")                       # Tab completes the command name
if not read_until(fd, "help"):
    fail("tab completion did not complete 'hel'")
os.write(fd, b" step\r")
if not read_until(fd, "example: step 5"):
    fail("help step")
if not read_until(fd, "lab> "):
    fail("no prompt after help step")
# Each line typed once the prompt after the one before has shown.
for line in ["set --size 48", f"content {fixtures}/content.png", f"style {fixtures}/style.png", "optimizer adam"]:
    os.write(fd, line.encode() + b"\r")
    if not read_until(fd, "lab> ", 120):
        fail(line)
os.write(fd, b"run 100000 --every 5\r")
if not read_until(fd, "iteration   10"):
    fail("run did not report")
os.write(fd, b"\x03")                        # Ctrl-C during the run
if not read_until(fd, "interrupted after iteration"):
    fail("Ctrl-C did not stop the run")
if not read_until(fd, "lab> "):
    fail("no prompt after Ctrl-C")
os.write(fd, b"history --last 2\r")
if not read_until(fd, "snapshots kept"):
    fail("state lost after Ctrl-C")
if not read_until(fd, "lab> "):
    fail("no prompt after history")
mark = len(transcript)
os.write(fd, b"some half-typed line\x03")    # Ctrl-C at the prompt drops the line
if not read_until(fd, "^C") or not read_until(fd, "lab> "):   # the shell's ^C, then a fresh prompt
    fail("Ctrl-C at the prompt did not give a fresh prompt")
os.write(fd, b"help rewind\r")
if not read_until(fd, "usage:   rewind N"):
    fail("no output after Ctrl-C at the prompt")
if b"some half-typed linehelp" in transcript[mark:] or b"error" in transcript[mark:]:
    fail("Ctrl-C at the prompt did not drop the half-typed line")
os.write(fd, b"lesson 1 --from-start\r")      # edit puts the whole first cell on the line
if not read_until(fd, "(next runs it)"):
    fail("lesson 1 did not open")
os.write(fd, b"edit\r")
if not read_until(fd, "press Enter"):
    fail("edit")
if not read_until(fd, "lab> "):   # the prompt, the cell's commands already on its line
    fail("no prompt after edit")
os.write(fd, b"\r")
if not read_until(fd, "chelsea-starry-night_png.png"):   # the cell's last command, show FILE, saved its picture
    fail("the edited cell's commands did not all run on Enter")
os.write(fd, b"quit\r")
_, status = os.waitpid(pid, 0)
if os.WEXITSTATUS(status) != 0:
    fail(f"exit status {os.WEXITSTATUS(status)}")
history = os.path.join(home, ".nstlab_history")
if not os.path.exists(history) or "optimizer adam" not in open(history).read():
    fail("history file not written")


def sigint_ignored(pid):
    """Whether SIGINT is set to 'ignore' in the process (bit 2 of SigIgn): then no Ctrl-C can reach it."""
    status = open(f"/proc/{pid}/status").read()
    return int(re.search(r"SigIgn:\s*(\S+)", status).group(1), 16) >> 1 & 1 == 1


# Fresh sessions typed at full speed: an earlier version lost Ctrl-C in about half of them (a race
# between readline restoring the SIGINT disposition and Dispatch installing its handler).
TRIALS = 6
for trial in range(TRIALS):
    start_transcript()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(lab, [lab, "--out", os.path.join(home, "out")], env)
    if not read_until(fd, "lab> ", 60):
        fail(f"trial {trial}: no prompt")
    os.write(fd, f"set --size 32\rcontent {fixtures}/content.png\rstyle {fixtures}/style.png\r".encode())
    if not read_until(fd, "style: ", 60):
        fail(f"trial {trial}: images not loaded")
    os.write(fd, b"run 100000 --every 1\r")
    if not read_until(fd, "iteration    2", 60):
        fail(f"trial {trial}: run did not start")
    if sigint_ignored(pid):
        fail(f"trial {trial}: SIGINT is ignored while running")
    os.write(fd, b"\x03")
    if not read_until(fd, "interrupted after", 20):
        fail(f"trial {trial}: Ctrl-C did not stop the run")
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    os.close(fd)

# Ctrl-C during a script stops the whole script, not just the command it hit.
script = os.path.join(home, "script.lab")
with open(script, "w") as f:
    f.write(f"set --size 32\ncontent {fixtures}/content.png\nstyle {fixtures}/style.png\nrun 100000 --every 1\nhelp step\n")
start_transcript()
pid, fd = pty.fork()
if pid == 0:
    os.execve(lab, [lab, "--script", script, "--out", os.path.join(home, "out")], env)
if not read_until(fd, "iteration    2", 60):
    fail("script: run did not start")
os.kill(pid, 2)
if not read_until(fd, "interrupted (Ctrl-C); the rest is skipped", 20):
    fail("script: Ctrl-C did not stop the script")
_, status = os.waitpid(pid, 0)
if os.WEXITSTATUS(status) == 0 or b"lab> help step" in transcript:
    fail("script: went on after Ctrl-C")
print("pty session: ok")
