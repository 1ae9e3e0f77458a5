"""A second Ctrl-C that stops the ``barenet`` command at once, even inside a compiled
kernel.

Python runs signal handlers only between bytecodes, in the main thread, and records
a signal as one flag: two Ctrl-Cs pressed while a numba kernel runs a chunk of
batches arrive as one, after the chunk. So while the command line trains on the
compiled engine, a watcher thread counts SIGINTs as they arrive, from the
interpreter's wake-up pipe (one byte per signal), without the GIL (a numba
``nogil`` loop calling ``read`` and ``_exit`` through ctypes). The first is left to
``trainer._StopOnSigint`` (stop after the current batch or chunk, keep the weights,
write the files); the second prints one line and ends the process with status 130.
Every file barenet writes is renamed into place when complete, so what exists then
is whole (a hidden ``.name.*`` temporary may remain, as after ``SIGKILL``).

Only the command line turns this on (``enable``): in a notebook, a second interrupt
must not end the kernel.

The watcher thread ends with the fit that started it (``second_interrupt_exits`` waits
for it): numba formats its internal typing errors through colorama, whose ``init`` and
``deinit`` set ``sys.stdout`` and ``sys.stderr`` process-wide, so a watcher still
compiling after the fit would put back a stream replaced meanwhile (pytest's capsys of
the next test, ``redirect_stderr`` around the next ``main``), and a note printed then
went to the old stream.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading

import numpy as np

EXIT_STATUS = 130  # as shells report a process ended by SIGINT
WATCHER = "barenet-second-interrupt"  # the watcher thread's name
_enabled = False
_watch = None


def enable() -> None:
    """Let a second Ctrl-C end this process at once during compiled training."""
    global _enabled
    _enabled = True


def _watcher():
    """The compiled watcher loop, built on first use (about a second)."""
    global _watch
    if _watch is None:
        from numba import njit

        libc = ctypes.CDLL(None)
        read, write, exit_now = libc.read, libc.write, libc._exit
        for function in (read, write):  # pointers passed as addresses (size_t)
            function.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t]
            function.restype = ctypes.c_ssize_t
        exit_now.argtypes, exit_now.restype = [ctypes.c_int], None

        @njit(nogil=True)  # not cached: it holds this process's libc addresses
        def watch(fd, byte, message, signum, status):
            count = 0
            while True:
                n = read(fd, byte.ctypes.data, 1)
                if n == 0:  # the pipe was closed: training is over
                    return
                if n > 0 and byte[0] == signum:
                    count += 1
                    if count >= 2:
                        write(2, message.ctypes.data, len(message))
                        exit_now(status)

        # compile now, in this thread: a thread cannot compile while a kernel holds the GIL
        read_end, write_end = os.pipe()
        os.close(write_end)
        watch(read_end, np.zeros(1, np.uint8), np.zeros(1, np.uint8), 0, 0)  # returns at EOF
        os.close(read_end)
        _watch = watch
    return _watch


@contextlib.contextmanager
def second_interrupt_exits(active: bool = True):
    """While inside, a second SIGINT ends the process (status 130) even while a kernel
    holds the GIL; does nothing unless ``enable`` was called, ``active`` is true and
    this is the main thread (or if the watcher cannot be built). On leaving, waits for
    the watcher thread to end (the rest of its compile, the first time in a process,
    when the fit was shorter: see the module docstring)."""
    if not (_enabled and active and threading.current_thread() is threading.main_thread()):
        yield
        return
    try:
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        previous = signal.set_wakeup_fd(write_end)
    except Exception:  # no pipe, or not the main interpreter: the first Ctrl-C still works
        yield
        return
    # the watcher is compiled in its thread, in the gaps between kernel calls (about a
    # second of one core, once a process, added only to a shorter fit, which waits for
    # it on leaving); signals meanwhile wait in the pipe
    thread = threading.Thread(
        target=_compile_and_watch, args=(read_end,), name=WATCHER, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        os.close(write_end)  # the watcher reads end-of-file, returns and closes its end
        thread.join()  # no compile left to swap sys.stderr back after the fit


def _compile_and_watch(read_end: int) -> None:
    try:
        byte = np.zeros(1, np.uint8)
        message = np.frombuffer(b"barenet: interrupted again: stopped at once\n", np.uint8)
        _watcher()(read_end, byte, message.copy(), int(signal.SIGINT), EXIT_STATUS)
    except Exception:  # no numba or no libc: the first Ctrl-C still stops after the chunk
        pass
    finally:
        os.close(read_end)
