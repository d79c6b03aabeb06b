"""Build dvc_plots.html: DVC's plots page with vega, vega-lite and vega-embed inline.

`dvc plots show` writes an HTML page whose scripts come from a CDN, so offline every chart
is blank. .dvc/config points DVC at this page instead (plots.html_template); it has no
``{scripts}`` placeholder, so DVC adds no CDN tags, and the three libraries are inlined, so
the page renders wherever it is written (``dvc plots show --out anywhere``).

Run from the project root to rebuild after changing a version below:
    python vendor/vega/build_page.py
It fetches the packages with ``npm pack`` (the npm registry) and checks their integrity.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = HERE / "dvc_plots.html"

# package, version, file inside the tarball, npm's published integrity (sha512)
PACKAGES = (
    (
        "vega",
        "5.33.1",
        "package/build/vega.min.js",
        "sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auoKxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw==",
    ),
    (
        "vega-lite",
        "5.23.0",
        "package/build/vega-lite.min.js",
        "sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vIN1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA==",
    ),
    (
        "vega-embed",
        "6.29.0",
        "package/build/vega-embed.min.js",
        "sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q==",
    ),
)

HEAD = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>fmagenre: DVC plots</title>
<!-- Offline page for `dvc plots show` (see vendor/vega/README.md). The scripts below are
     {names}, inlined unchanged from their npm packages under the BSD-3-Clause licence
     (vendor/vega/LICENSE.*; bundled dependencies: vendor/vega/README.md). -->
"""

TAIL = """<style>
table { border-spacing: 15px; }
</style>
</head>
<body>
{plot_divs}
</body>
</html>
"""


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch(name: str, version: str, member: str, expected: str, workdir: Path) -> str:
    subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--silent"],
        cwd=workdir,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    tarball = workdir / f"{name}-{version}.tgz"
    if integrity(tarball.read_bytes()) != expected:
        sys.exit(f"{tarball.name}: integrity does not match npm's published {expected}")
    with tarfile.open(tarball) as bundle:
        extracted = bundle.extractfile(member)
        assert extracted is not None, member
        script = extracted.read().decode("utf-8")
    # the source maps are not shipped: drop their references (browsers would ask for them)
    script = "\n".join(
        line for line in script.splitlines() if not line.startswith("//# sourceMappingURL=")
    )
    if "</script" in script.lower():
        sys.exit(f"{name}: the script contains '</script' and cannot be inlined as it is")
    return script


def build() -> str:
    names = ", ".join(f"{name} {version}" for name, version, _, _ in PACKAGES)
    parts = [HEAD.replace("{names}", names)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, version, member, expected in PACKAGES:
            script = fetch(name, version, member, expected, Path(tmp))
            parts.append(f"<script>/* {name}@{version} ({member}) */\n{script}\n</script>\n")
    parts.append(TAIL)
    return "".join(parts)


if __name__ == "__main__":
    PAGE.write_text(build(), encoding="utf-8")
    print(f"wrote {PAGE} ({PAGE.stat().st_size / 1e6:.2f} MB)")
