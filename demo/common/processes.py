"""Stop child processes: SIGTERM first, SIGKILL for those that outlive the timeout.

Used by ``demo.run`` and by the end-to-end test harness, which both start the demo servers.
"""

import logging
import subprocess

logger = logging.getLogger(__name__)


def stop_processes(processes: list[subprocess.Popen], timeout_seconds: float) -> None:
    """Send SIGTERM to every running process, wait, and kill those still running after ``timeout_seconds``."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            logger.warning("Process %s ignored SIGTERM for %.0f s; killing it", process.pid, timeout_seconds)
            process.kill()
            process.wait(timeout=timeout_seconds)
        logger.info("Process %s exited with code %s", process.pid, process.returncode)
