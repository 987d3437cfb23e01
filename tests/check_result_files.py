#!/usr/bin/env python3
"""Check that every dataset of the committed result files describes itself.

Opens every results/*.h5 of the repository (found from this script's location,
so it runs from any directory), or the files given as arguments, with h5py and
lists every dataset without a non-empty string attribute `description`
(hntk_h5_describe, include/hyperntk/h5io.h).

Exit status: 0 every dataset is described, 1 some are not (listed on stdout,
one "FILE: DATASET" per line, then a count), 2 a file cannot be read,
77 h5py is not installed (the convention for "skipped").
"""
import glob
import os
import sys


def description_of(obj):
    """The description attribute as text, or None when missing or not a string."""
    if "description" not in obj.attrs:
        return None
    value = obj.attrs["description"]
    if hasattr(value, "tolist"):  # a numpy scalar or array
        value = value.tolist()
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def undescribed(h5py, path):
    """Names of the datasets of `path` lacking a non-empty description, and the dataset count."""
    missing, count = [], 0
    with h5py.File(path, "r") as f:
        names = []
        f.visititems(lambda name, obj: names.append("/" + name) if isinstance(obj, h5py.Dataset) else None)
        for name in sorted(names):
            count += 1
            text = description_of(f[name])
            if text is None or not text.strip():
                missing.append(name)
    return missing, count


def main(argv):
    try:
        import h5py
    except ImportError:
        print("skipped: h5py is not installed (apt-get install python3-h5py)", file=sys.stderr)
        return 77
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = argv[1:] or sorted(glob.glob(os.path.join(root, "results", "*.h5")))
    if not files:
        print("no result files in %s" % os.path.join(root, "results"))
        return 0
    total = bad = 0
    for path in files:
        # Given files as given; the default ones relative to the repository.
        shown = path if argv[1:] else os.path.relpath(path, root)
        try:
            missing, count = undescribed(h5py, path)
        except (OSError, KeyError) as e:
            print("%s: cannot read: %s" % (shown, e), file=sys.stderr)
            return 2
        total += count
        bad += len(missing)
        for name in missing:
            print("%s: %s" % (shown, name))
    if bad:
        print("%d of %d datasets in %d result files lack a non-empty 'description' attribute"
              % (bad, total, len(files)))
        return 1
    print("all %d datasets in %d result files have a description" % (total, len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
