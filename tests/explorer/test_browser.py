"""End to end: the explorer served by Voila, clicked in headless Chromium through Playwright.

Voila runs the notebook in a kernel of this Python (with this checkout's lmmplot first on the
path) and serves the page on 127.0.0.1; Debian's ``chromium`` is driven by Playwright's Python
API (``playwright install`` is not needed). The server is stopped at the end, whatever happens.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect, sync_playwright

import lmmplot

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT = 60  # seconds for Voila to answer
PAGE_TIMEOUT = 120_000  # ms for the page to show the explorer (a busy 2-core machine is slow)
NOTEBOOK = ("import lmmplot as lp\n"  # one cell, one panel: the lightest explorer that is still real
            "lp.explore(lp.load_dataset('sleepstudy'), response='Reaction', x='Days', group='Subject',\n"
            "           facet='overlaid')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def voila(tmp_path):
    """The URL of the explorer notebook served by Voila on 127.0.0.1."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "explorer.ipynb")
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(lmmplot.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]), MPLBACKEND="Agg")
    log = open(tmp_path / "voila.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "voila", "explorer.ipynb", "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "--show_tracebacks=True"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"voila exited with {server.returncode}:\n{(tmp_path / 'voila.log').read_text()}")
            try:
                urllib.request.urlopen(url + "voila/static/", timeout=2)
                break
            except urllib.error.HTTPError:  # any answer means the server is up
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"voila did not answer within {STARTUP_TIMEOUT} s:\n"
                                f"{(tmp_path / 'voila.log').read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        # the server, and the kernel it started, are in the session we gave the server
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


IMAGE_READY = ("old => { const i = document.querySelector('.lmmplot-explorer img');"
               " return i !== null && i.src !== old && i.complete && i.naturalWidth > 0; }")


def test_clicking_slopes_refits_and_redraws(voila):
    phases, start = {}, time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            # Voila streams the page while the kernel runs the notebook: wait for the explorer
            page.goto(voila, wait_until="commit", timeout=PAGE_TIMEOUT)
            formula = page.locator(".lmmplot-formula")
            expect(formula).to_have_text("Reaction ~ Days + (1 + Days|Subject)", timeout=PAGE_TIMEOUT)
            page.wait_for_function(IMAGE_READY, arg="", timeout=30_000)
            phases["page shows the explorer"] = time.monotonic() - start
            image = page.locator(".lmmplot-explorer img")
            before_src, before = image.get_attribute("src"), image.screenshot()

            clicked = time.monotonic()
            page.get_by_role("button", name="slopes", exact=True).click()
            expect(formula).to_have_text("Reaction ~ Days + (0 + Days|Subject)", timeout=30_000)
            page.wait_for_function(IMAGE_READY, arg=before_src, timeout=30_000)
            phases["click to new formula and figure"] = time.monotonic() - clicked
            after = image.screenshot()
        finally:
            browser.close()
    print(", ".join(f"{name}: {seconds:.1f} s" for name, seconds in phases.items()),
          f"(load average {os.getloadavg()[0]:.1f})")
    assert after != before
