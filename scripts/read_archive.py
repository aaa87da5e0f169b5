#!/usr/bin/env python3
"""Read an infoplane archive without infoplane: only json, numpy, pyarrow and h5py.

Usage: read_archive.py ARCHIVE_DIR OUT_DIR

Writes OUT_DIR/<layer>@<epoch>.npy for every committed (layer, epoch) with activations,
labels.npy, sample_ids.npy, inputs.npy (when stored), gradients-<param>@<epoch>-{mean,std,value}.npy
and metrics.json. It follows docs/archive.md and is the executable form of that document: the
test suite runs it and compares its output with infoplane's own reader bit for bit. Where the
archive carries content hashes it checks them (CRC-32, zlib's), as infoplane does.
"""
import json
import os
import sys
import zlib

import numpy as np

METRICS = ["train_loss", "train_accuracy", "validation_loss", "validation_accuracy", "wall_time_s"]


CHECKSUM = b',\n  "checksum": "crc32:'


def read_json(path):
    """A JSON record, its own checksum checked when it has one."""
    raw = open(path, "rb").read()
    at = raw.rfind(CHECKSUM)
    if at >= 0:
        recorded = int(raw[at + len(CHECKSUM):at + len(CHECKSUM) + 8], 16)
        assert zlib.crc32(raw[:at] + b"\n}") == recorded, f"{path}: checksum mismatch"
    return json.loads(raw)


def check(path_or_bytes, digest, what):
    """Compares bytes (or a file's) with a {"bytes", "crc32"} digest when there is one."""
    if digest is None:
        return
    data = open(path_or_bytes, "rb").read() if isinstance(path_or_bytes, str) else path_or_bytes
    assert len(data) == digest["bytes"] and zlib.crc32(data) == int(digest["crc32"], 16), f"{what}: damaged"


def read_parquet_archive(d, m, out):
    import pyarrow.parquet as pq

    content = m.get("content") or {}
    for name, digest in content.items():
        check(os.path.join(d, name), digest, name)
    n = m["analysis_set"]["n"]
    samples = pq.read_table(os.path.join(d, "samples.parquet"))
    np.save(os.path.join(out, "labels.npy"), samples["label"].to_numpy())
    np.save(os.path.join(out, "sample_ids.npy"), samples["sample_id"].to_numpy())
    if m["analysis_set"].get("input_shape"):
        x = pq.read_table(os.path.join(d, "inputs.parquet"))["x"].to_numpy()
        np.save(os.path.join(out, "inputs.npy"), x.reshape(n, -1))
    metrics = {}
    for planned in m["epochs"]:
        e = planned["epoch"]
        ed = os.path.join(d, "epochs", "epoch-%06d" % e)
        if not os.path.isdir(ed):
            break  # committed epochs are a prefix of the plan
        record = read_json(os.path.join(ed, "epoch.json"))
        metrics[e] = record["metrics"]
        for name, digest in (record.get("files") or {}).items():
            check(os.path.join(ed, name), digest, name)
        if planned["activations"]:
            for i, layer in enumerate(m["layers"]):
                z = pq.read_table(os.path.join(ed, "layer-%03d.parquet" % i))["z"].to_numpy()
                np.save(os.path.join(out, "%s@%d.npy" % (layer["name"], e)), z.reshape(n, layer["width"]))
        if m["parameters"]:
            g = pq.read_table(os.path.join(ed, "gradients.parquet")).to_pydict()
            for row, p in enumerate(g["param"]):
                for what in ("mean", "std", "value"):
                    v = np.asarray(g[what][row], dtype=np.float32)
                    np.save(os.path.join(out, "gradients-%s@%d-%s.npy" % (p, e, what)), v)
    return metrics


def read_hdf5_archive(d, m, out):
    import h5py

    with h5py.File(os.path.join(d, "data.h5"), "r") as f:
        for name, digest in (m.get("content") or {}).items():
            check(np.ascontiguousarray(f[name][:]).astype(f[name].dtype.newbyteorder("<")).tobytes(), digest, name)
        hashes = f["epochs/content"][:] if m.get("content") else None
        np.save(os.path.join(out, "labels.npy"), f["samples/label"][:])
        np.save(os.path.join(out, "sample_ids.npy"), f["samples/sample_id"][:])
        if "inputs" in f:
            np.save(os.path.join(out, "inputs.npy"), f["inputs"][:])
        committed = f["epochs/committed"][:]
        epochs = f["epochs/epoch"][:]
        act_epochs = list(f["activations/epoch"][:])
        metrics = {}
        for slot, e in enumerate(epochs):
            if committed[slot] != 1:
                break
            e = int(e)
            metrics[e] = {}
            for name in METRICS:
                v = float(f["metrics/" + name][slot])
                metrics[e][name] = None if np.isnan(v) else v
            if e in act_epochs:
                a = act_epochs.index(e)
                for i, layer in enumerate(m["layers"]):
                    z = f["activations/layer-%03d" % i][a]
                    if hashes is not None:
                        assert zlib.crc32(z.astype("<f4").tobytes()) == hashes[slot, i], "layer %d slot %d: damaged" % (i, slot)
                    np.save(os.path.join(out, "%s@%d.npy" % (layer["name"], e)), z)
            for i, p in enumerate(m["parameters"]):
                for what in ("mean", "std", "value"):
                    v = f["gradients/param-%03d/%s" % (i, what)][slot]
                    np.save(os.path.join(out, "gradients-%s@%d-%s.npy" % (p["name"], e, what)), v)
    return metrics


def main():
    d, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    m = read_json(os.path.join(d, "manifest.json"))
    assert m["format"] == "infoplane-archive" and m["schema_version"] == 1, "unsupported archive"
    reader = read_parquet_archive if m["backend"] == "parquet" else read_hdf5_archive
    metrics = reader(d, m, out)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump({str(k): v for k, v in metrics.items()}, f)


if __name__ == "__main__":
    main()
