# SPDX-License-Identifier: GPL-2.0
"""
Sphinx configuration of evcore's documentation, for `make htmldocs`
(scripts/htmldocs).

The kernel's own Sphinx extensions are used from a kernel source tree, not
copied here: EVCORE_KSRC names that tree (scripts/htmldocs gives sid's 7.2
source, the kernel the extensions are taken from). kerneldoc reads the
kernel-doc comments of this tree's sources, and kernel_abi the files in
this tree's Documentation/ABI: both find them through $srctree, set here
to the top of this tree.
"""

import os
import sys

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["srctree"] = top

ksrc = os.environ.get("EVCORE_KSRC")
if not ksrc or not os.path.isdir(os.path.join(ksrc, "Documentation", "sphinx")):
    sys.exit("conf.py: EVCORE_KSRC must name a kernel source tree "
             "(run make htmldocs)")
sys.path.insert(0, os.path.join(ksrc, "Documentation", "sphinx"))
sys.path.insert(0, os.path.join(ksrc, "tools", "lib", "python"))

project = "evcore"
with open(os.path.join(top, "VERSION"), encoding="utf-8") as f:
    version = release = f.read().strip()

# kernel-doc comments, the ABI files, and links from "function()" and
# "struct name" in the text to what kernel-doc documents.
extensions = ["automarkup", "kernel_abi", "kerneldoc"]
kerneldoc_srctree = top
root_doc = "index"

primary_domain = "c"
highlight_language = "none"
# Annotations in the prototypes kernel-doc documents that are not C.
c_id_attributes = ["__user"]
