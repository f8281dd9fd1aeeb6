"""The judge's calls into the attendee's kernel: requests and replies as files in the sandbox's folder.

A mixin of ``SandboxedExecute``: the judge (``grading.judge``) calls ``_transport`` with a request of
the wire's format (``grading.wire``); the kernel's side of the protocol, sent into the kernel once as
text, answers it in a file that is read only if it is a plain file under the size limit.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
import uuid
from queue import Empty

from jupyter_core.utils import ensure_async, run_sync

from grading import wire


class JudgeCalls:
    """Carries the judge's requests into the kernel (``self.kc``, ``self.km``, ``self.workdir`` are the
    executor's) within the cell's time left; a kernel that dies or ignores the interrupt stops the notebook."""

    def _transport(self, request):
        """Carry one judge request into the kernel and its reply back, as files in the working folder.

        The request is written under a fresh random name that the kernel cannot have prepared (and is
        never followed if it is a link); the reply is read only if it is a regular file under the size
        limit. What comes back is data (``wire.unpack``)."""
        if self.kc is None or self._stopped:
            raise wire.WireError("the kernel is not running any more")
        if self._wire is None:
            self._wire = "_dllab_wire_" + uuid.uuid4().hex
            setup = wire.kernel_setup(self._wire)
            self._kernel_run(setup, "setting up the judge's calls")
        name = uuid.uuid4().hex
        request_path, reply_path = self.workdir / f"judge-{name}.in", self.workdir / f"judge-{name}.out"
        fd = os.open(request_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(request)
        try:
            self._kernel_run(f"__import__('sys').modules[{self._wire + '.serve'!r}].serve({str(request_path)!r}, "
                             f"{str(reply_path)!r}, get_ipython().user_ns)", "running your function")
            return wire.unpack(self._read_reply(reply_path), limit=self.max_reply_mb * 2**20)
        finally:
            for path in (request_path, reply_path):
                with contextlib.suppress(OSError):
                    os.unlink(path)

    def _read_reply(self, path):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            raise wire.WireError("your kernel gave no answer to the grader's call") from None
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > self.max_reply_mb * 2**20:
                raise wire.WireError("your kernel's answer is not a file of data under the size limit")
            return f.read(self.max_reply_mb * 2**20 + 1)

    def _kernel_run(self, code, what):
        """Run code in the kernel, silently (no history, no output kept), within the cell's time left."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        answer = self._reply_within(msg_id, self._get_timeout(None) or self.notebook_timeout)
        if answer == "dead":
            self.events.add("kernel_death", f"the kernel died while {what} for the judge")
            self._stop(f"not run: the kernel died while {what} for the judge")
            raise wire.WireError(f"the kernel died while {what}")
        if answer == "timeout":
            self.events.add("timeout", f"the judge's call ran past its time limit while {what}")
            run_sync(self.km.interrupt_kernel)()
            if self._reply_within(msg_id, self.unresponsive_grace) != "ok":
                self.events.add("unresponsive", f"the kernel ignored the interrupt while {what} and was stopped")
                self._stop(f"not run: the kernel stopped answering while {what} for the judge")
                raise wire.WireError(f"the kernel stopped answering while {what}")
            raise wire.WireError(f"time limit reached while {what}")

    async def _async_reply_within(self, msg_id, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                wait = min(1, max(0.01, deadline - time.monotonic()))
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=wait))
            except Empty:
                if not await ensure_async(self.km.is_alive()):
                    return "dead"
                continue
            except Exception:
                return "dead"
            if msg["parent_header"].get("msg_id") == msg_id:
                return "ok"
        return "timeout"

    _reply_within = run_sync(_async_reply_within)

    def _responsive(self):
        """After an interrupt: "ok" if the kernel runs a trivial cell within the grace period,
        "dead" if it is gone, "stuck" otherwise."""
        try:
            msg_id = self.kc.execute("pass", silent=True, store_history=False)
        except Exception:
            return "dead"
        answer = self._reply_within(msg_id, self.unresponsive_grace)
        return "stuck" if answer == "timeout" else answer
