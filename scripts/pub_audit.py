"""Lists the library's `pub` items that nothing outside `src/` names (the CLI, the Python
module, the recorder, tests, benches, examples, fixtures, doc comments): candidates for
`pub(crate)`. Some must stay `pub` because a public item's signature or a `pub use` shows them;
the compiler says which. Usage: python scripts/pub_audit.py"""
import os
import re

FRONTS = ["analysis", "recorder", "tests", "benches", "examples", "fixtures"]
DECL = re.compile(r"^\s*pub (fn|struct|enum|const|type|trait|static) ([A-Za-z_0-9]+)")


def rust_files(top):
    for root, _, files in os.walk(top):
        if "target" not in root:
            yield from (os.path.join(root, f) for f in files if f.endswith(".rs"))


def main():
    text = "\n".join(open(p, encoding="utf-8").read() for d in FRONTS for p in rust_files(d))
    text += "\n".join(line for p in rust_files("src") for line in open(p, encoding="utf-8")
                      if line.strip().startswith(("///", "//!")))
    found = 0
    for p in sorted(rust_files("src")):
        for i, line in enumerate(open(p, encoding="utf-8"), 1):
            m = DECL.match(line)
            if m and not re.search(r"\b" + re.escape(m.group(2)) + r"\b", text):
                print(f"{p}:{i}: pub {m.group(1)} {m.group(2)}")
                found += 1
    print(f"{found} pub items named nowhere outside src/")


if __name__ == "__main__":
    main()
