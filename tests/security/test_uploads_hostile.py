"""Hostile and careless upload files: bounded before parsing, parsed in a capped child process (the server's
memory stays flat), CSV dialects read right or refused with the line, and values beyond float32 named as such."""

from __future__ import annotations

import io
import os
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from omib_core.data import folder as fmt
from omib_core.data import load_dataset, load_folder, store_upload, validate_files
from omib_core.data.sandbox import parse_limits, validate_isolated
from omib_core.errors import DataError
from tests.core.test_uploads import good_files, tree

ROWS = 30


def labels(n: int = ROWS) -> bytes:
    return ("label\n" + "\n".join(str(i % 2) for i in range(n))).encode()


def other(n: int = ROWS) -> bytes:
    rng = np.random.default_rng(0)
    return "\n".join(",".join(f"{v:.3f}" for v in row) for row in rng.normal(size=(n, 3))).encode()


def commas(n: int) -> dict[str, bytes]:
    """The probe of the issue: one CSV line of ``n`` commas, with a second normal modality and labels."""
    return {"wide.csv": b"," * n + b"\n", "other.csv": other(), "labels.csv": labels()}


def wide_csv(columns: int, rows: int = 1) -> bytes:
    """Within the column limit, but slow and hungry for pandas (about 2 s and 150 MB at 49,000 columns)."""
    return "\n".join([",".join(["1.5"] * columns)] * rows).encode()


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """This process's peak resident memory while the block runs, sampled every 5 ms."""

    def __enter__(self) -> PeakRss:
        self.before, self.peak, self._stop = _rss(), _rss(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.before) / 2**20


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("OMIB_DATA_DIR", str(tmp_path))
    return tmp_path


# item 1: one small upload must not take the server down


def test_a_line_of_500000_commas_is_refused_in_2_s_and_the_server_memory_stays_flat(data_dir: Path) -> None:
    """The 0.5 MB file took 35 s of CPU and 1.2 GB in the server's own process before (see docs/reliability.md)."""
    files = commas(500_000)
    validate_isolated(good_files())  # warm the imports this test does not measure
    with PeakRss() as mem:
        t0 = time.perf_counter()
        report = validate_isolated(files)  # what the Data page shows
        seconds = time.perf_counter() - t0
    assert seconds < 2, seconds
    assert mem.growth_mb < 50, mem.growth_mb
    error = next(e for e in report.errors if "wide.csv" in e)
    assert "500,001 columns in its first line; the limit is 50,000" in error and ".npy" in error, error
    before = tree(data_dir)
    with pytest.raises(DataError, match="500,001 columns"):
        store_upload(files, owner="mallory")  # the Store button's path
    assert tree(data_dir) == before


@pytest.mark.parametrize("target", ["modality", "labels"])
def test_text_files_are_bounded_before_parsing(monkeypatch, target) -> None:
    """Columns come from the first line and cells from columns x lines; pandas never sees a refused file."""

    def no_parse(*args, **kwargs):
        raise AssertionError("a refused file reached the parser")

    monkeypatch.setattr(pd, "read_csv", no_parse)
    read = fmt.read_modality if target == "modality" else fmt.read_labels
    t0 = time.perf_counter()
    with pytest.raises(DataError, match=r"3,800,001 columns in its first line; the limit is 50,000 columns"):
        read(b"," * 3_800_000, "csv", "x.csv")
    with pytest.raises(
        DataError, match=r"about 119,960,000 values \(40,000 columns x 2,999 rows after the first line\); the limit"
    ):
        read(b",".join([b"1"] * 40_000) + b"\n" + b"1\n" * 2_999, "csv", "x.csv")
    assert time.perf_counter() - t0 < 1


def test_real_wide_tables_pass_the_bounds() -> None:
    """20,000 gene columns x 5,000 rows is within both limits (the bound looks only at the first line and the
    number of lines, so a stand-in of that shape is enough)."""
    text = ",".join(f"gene{j}" for j in range(20_000)) + "\n" + "1\n" * 5_000
    assert fmt.check_text_size(text, ",", "genes.csv") == (20_000, 5_001)
    assert 20_000 * 5_000 <= fmt.MAX_CELLS and 20_000 <= fmt.MAX_COLUMNS


def test_parquet_columns_are_checked_from_the_footer_before_decoding(monkeypatch) -> None:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pd.DataFrame(np.zeros((3, 12)), columns=[f"c{j}" for j in range(12)]).to_parquet(buf)
    monkeypatch.setattr(fmt, "MAX_COLUMNS", 10)
    monkeypatch.setattr(pq.ParquetFile, "read", lambda *a, **k: pytest.fail("decoded a refused file"))
    with pytest.raises(DataError, match="has 12 columns; the limit is 10"):
        fmt.read_modality(buf.getvalue(), "parquet", "x.parquet")


def test_a_parse_that_blows_the_memory_cap_gives_a_sentence_and_the_server_survives(data_dir, monkeypatch) -> None:
    monkeypatch.setenv("OMIB_UPLOAD_PARSE_MEMORY", "64M")
    wide = wide_csv(min(49_000, fmt.MAX_COLUMNS))  # within the limits: only the cap can stop it
    files = {"a.csv": wide, "b.csv": wide, "labels.csv": labels(1)}
    with PeakRss() as mem:
        report = validate_isolated(files)
    assert mem.growth_mb < 50, mem.growth_mb
    assert report.errors == [
        "a.csv needs more than 64 MB of memory to read, the server's limit for checking an upload "
        "(OMIB_UPLOAD_PARSE_MEMORY), so it was refused. Upload fewer rows or columns per file, or save the matrix "
        "as .npy with numpy.save(path, x.astype('float32')), which needs no more memory than its size."
    ]
    with pytest.raises(DataError, match="needs more than 64 MB of memory"):
        store_upload(files, owner="mallory")  # store_upload is sandboxed by default
    assert validate_isolated(good_files()).ok  # the next upload is checked as usual


def test_a_slow_parse_hits_the_time_cap(monkeypatch) -> None:
    monkeypatch.setenv("OMIB_UPLOAD_PARSE_SECONDS", "1")
    wide = wide_csv(min(49_000, fmt.MAX_COLUMNS))  # about 2 s each
    files = {"a.csv": wide, "b.csv": wide, "c.csv": wide, "labels.csv": labels(1)}
    t0 = time.perf_counter()
    report = validate_isolated(files)
    assert time.perf_counter() - t0 < 5
    assert len(report.errors) == 1 and "took longer than 1 s" in report.errors[0], report.errors
    assert "(OMIB_UPLOAD_PARSE_SECONDS), so it was stopped" in report.errors[0]


def test_the_sandbox_gives_the_in_process_report(data_dir: Path) -> None:
    bad = {**good_files(), "video.npy": b"\x93NUMPY broken", "labels.csv": b"label\n" + b"1\n" * 40}
    for i, files in enumerate((good_files(), bad)):
        out = data_dir / f"written-{i}"
        out.mkdir()
        here, there = validate_files(files), validate_isolated(files, out_dir=out)
        assert (there.errors, there.warnings, there.task) == (here.errors, here.warnings, here.task)
        assert (there.modalities, there.labels) == (here.modalities, here.labels)
        assert there._arrays == {} and there._y is None  # the server process never receives the arrays
        if not here.ok:
            assert list(out.iterdir()) == []  # a refused upload writes nothing
            continue
        assert sorted(p.name for p in out.iterdir()) == sorted([*(f"{m}.npy" for m in here._arrays), "labels.csv"])
        for m, x in here._arrays.items():  # written by the checking process, as the store keeps them
            np.testing.assert_array_equal(np.load(out / f"{m}.npy", allow_pickle=False), x)
    uid = store_upload(good_files(), owner="ana")
    assert load_dataset(f"upload:{uid}").n_samples == 40


def test_parse_settings_are_checked(monkeypatch) -> None:
    assert parse_limits() == (3 * 2**30, 60.0, 2)
    monkeypatch.setenv("OMIB_UPLOAD_PARSE_MEMORY", "4G")
    monkeypatch.setenv("OMIB_UPLOAD_PARSE_SECONDS", "30")
    assert parse_limits()[:2] == (4 * 2**30, 30.0)
    monkeypatch.setenv("OMIB_UPLOAD_PARSE_MEMORY", "lots")
    with pytest.raises(DataError, match="OMIB_UPLOAD_PARSE_MEMORY must be a positive number such as 3G"):
        validate_isolated(good_files())


# item 6: CSV dialects are read right or refused, never misread


EXCEL_EU = "\ufeffa;b\n0,126;-0,132\n1,5;2\n-3;4,25\n".encode()


def test_a_european_excel_csv_is_read_with_its_dialect() -> None:
    notes: list[str] = []
    x = fmt.read_modality(EXCEL_EU, "csv", "audio.csv", notes)
    np.testing.assert_array_equal(x, [[0.126, -0.132], [1.5, 2.0], [-3.0, 4.25]])
    assert notes == [
        "audio.csv was read as semicolon-separated with decimal commas and a UTF-8 byte-order mark (as "
        "Excel saves CSV in many European languages); check the values in the table."
    ]
    headerless = fmt.read_modality(b"0,126;-0,132\n1,5;2\n", "csv", "v.csv")
    np.testing.assert_array_equal(headerless, [[0.126, -0.132], [1.5, 2.0]])
    tabs = fmt.read_modality(b"a\tb\n0,5\t1\n2\t3,5\n", "csv", "t.csv")
    np.testing.assert_array_equal(tabs, [[0.5, 1.0], [2.0, 3.5]])
    n = 40
    files = {**good_files(n), "audio.csv": ("x;y\n" + "".join(f"{i},5;-{i},25\n" for i in range(n))).encode()}
    files.pop("Audio Features.csv")
    report = validate_files(files)
    assert report.ok and any("semicolon-separated with decimal commas" in w for w in report.warnings), report.errors


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a,b\n1,2,3\n4,5,6\n", r"line 2 has 3 fields but line 1 \(the header\) has 2.*name every column"),
        ("a,b,c\n1,2,3\n4,5\n", r"line 3 has 2 fields but line 1 has 3"),
        ("1,2\n3,4\n5,6,7\n", r"line 3 has 3 fields but line 1 \(the header\) has 2"),
        ("a;b\n1;2\n3;4;5\n", r"line 3 has 3 fields .* semicolon-separated values"),
        ("label\n0,5\n1,5\n", r"line 2 has 2 fields but line 1 \(the header\) has 1"),
    ],
    ids=["header shorter than the rows", "a short row", "a long row", "semicolons", "one column, decimal commas"],
)
def test_rows_with_another_field_count_are_refused_with_the_line(text: str, match: str) -> None:
    for read in (fmt.read_modality, fmt.read_labels):
        with pytest.raises(DataError, match=match):
            read(text.encode(), "csv", "x.csv")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a;b\n0,5;1\n1.5;2\n", r"'1.5' in row 2, but this file uses decimal commas"),
        ("a;b\n0,5;1\n1.234,5;2\n", r"'1.234,5' in row 2, but this file uses decimal commas"),
        ('a,b\n"0,5",1\n', r"text such as '0,5' in row 1.*looks like a decimal comma"),
        (b"\xff\xfea\x00;\x00b\x00".decode("latin-1"), r"UTF-16 text"),
    ],
    ids=["mixed decimal marks", "thousands separator", "quoted decimal comma", "utf-16"],
)
def test_ambiguous_csv_is_refused_with_a_sentence(text: str, match: str) -> None:
    with pytest.raises(DataError, match=match):
        fmt.read_modality(text.encode("latin-1"), "csv", "x.csv")


# item 9: values beyond float32's range are named as such, not as NaN/inf after the cast


def test_values_beyond_float32_range_are_named_with_column_and_row(tmp_path: Path) -> None:
    files = good_files()
    audio = pd.read_csv(io.BytesIO(files["Audio Features.csv"]))
    audio.loc[6, "f2"] = 1e39
    files["Audio Features.csv"] = audio.to_csv(index=False).encode()
    video = np.load(io.BytesIO(files["video.npy"])).astype(np.float64)
    video[3, 4] = -1e308
    buf = io.BytesIO()
    np.save(buf, video)
    files["video.npy"] = buf.getvalue()
    report = validate_files(files)
    assert (
        "Column 'f2' of Audio Features.csv has values beyond float32's range (|x| > 3.4e38), e.g. 1e+39 at row 7 "
        "(1 such values)" in report.errors[0]
    ), report.errors
    assert (
        "Column 5 of video.npy has values beyond float32's range (|x| > 3.4e38), e.g. -1e+308 at row 4"
        in (report.errors[1])
    ), report.errors
    assert not any("missing (NaN)" in e for e in report.errors), report.errors  # the old, misleading sentence
    assert "beyond float32's range" in validate_isolated(files).errors[0]

    folder = tmp_path / "mine"
    folder.mkdir()
    for name, raw in good_files().items():
        (folder / name).write_bytes(raw)
    (folder / "labels.csv").write_text("label\n" + "\n".join(["1e39"] + ["1"] * 39))
    with pytest.raises(DataError, match=r"Column 'label' of mine/labels.csv has values beyond float32's range"):
        load_folder(folder)


# round two (issue 20): compressed members bounded before they are inflated; the server never holds an upload

MB = 2**20


def npz(shape: tuple[int, ...], fill=None, dtype: str = "<f4", level: int = 1) -> bytes:
    """An .npz with one array of ``shape``, streamed into the archive (never whole in memory): zeros, or the
    callable ``fill(rows) -> bytes`` for each block of rows."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": tuple(shape)}
    )
    row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(dtype).itemsize
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        with zf.open("arr_0.npy", "w", force_zip64=True) as f:
            f.write(head.getvalue())
            left, block = shape[0], max(1, (4 * MB) // max(row_bytes, 1))
            while left:
                n = min(left, block)
                f.write(fill(n) if fill else bytes(n * row_bytes))
                left -= n
    return out.getvalue()


def test_the_12_5m_row_npz_set_is_refused_in_5_s_and_the_server_stays_flat(data_dir: Path) -> None:
    """Three small files declaring 12.5 M rows (501 MB stored, 4 GB peak in the server on dda1df2): refused from the
    zip directory, before inflating, whether checked for the Data page or stored through the library."""
    rows = 12_500_000
    rng = np.random.default_rng(0)

    def sparse(n: int, cols: int) -> bytes:  # zeros but for one random row a block: no column is constant
        a = np.zeros((n, cols), "<f4")
        a[0] = rng.normal(size=cols)
        return a.tobytes()

    files = {
        "a.npz": npz((rows, 8), fill=lambda n: sparse(n, 8)),
        "b.npz": npz((rows, 1), fill=lambda n: sparse(n, 1)),
        "labels.npz": npz((rows,), fill=lambda n: (np.arange(n) % 2).astype("<i1").tobytes(), dtype="<i1"),
    }
    assert sum(len(v) for v in files.values()) < 3 * MB
    validate_isolated(good_files())  # warm the imports this test does not measure
    before = tree(data_dir)
    for check in (lambda: validate_isolated(files), lambda: store_upload(files, owner="mallory")):
        with PeakRss() as mem:
            t0 = time.perf_counter()
            try:
                errors = check().errors
            except DataError as e:
                errors = [str(e)]
            seconds = time.perf_counter() - t0
        assert seconds <= 5, seconds
        assert mem.growth_mb <= 50, mem.growth_mb
        assert any("a.npz inflates to 381.5 MB" in e and "the limit is 50.0 MB per file" in e for e in errors), errors
    assert tree(data_dir) == before


def test_a_member_inflating_more_than_100_times_is_refused_with_its_name() -> None:
    bomb = npz((1_000_000, 10))  # 40 MB of zeros: under the 50 MB per-file limit, about 1000:1
    files = {**good_files(), "video.npz": bomb}
    del files["video.npy"]
    errors = validate_files(files).errors
    assert any(e.startswith("video.npz inflates") and "at most 100:1" in e and ".npy" in e for e in errors), errors


def test_an_accepted_200_mb_npz_set_never_passes_through_the_server(data_dir: Path) -> None:
    """Four modality files of 50 MB each (0/1 values, about 20:1 compressed) are accepted; the checking process
    writes them to the store, and the Data page's preview reads 1,500 rows of them: the server's peak stays within
    +150 MB for 200 MB of data."""
    from omib_core.config import DataConfig
    from omib_core.data import sample_dataset

    rows, cols = 1_250_000, 10
    rng = np.random.default_rng(0)
    bits = lambda n: rng.integers(0, 2, size=(n, cols)).astype("<f4").tobytes()  # noqa: E731
    files = {f"m{i}.npz": npz((rows, cols), fill=bits) for i in range(4)}
    y = rng.integers(0, 2, size=rows).astype(np.int64)
    buf = io.BytesIO()
    np.save(buf, y, allow_pickle=False)
    files["labels.npy"] = buf.getvalue()
    del y, buf
    validate_isolated(good_files())  # warm the imports this test does not measure
    with PeakRss() as mem:
        uid = store_upload(files, owner="ana")
        sample = sample_dataset(DataConfig(dataset=f"upload:{uid}"), 1500)
    assert mem.growth_mb <= 150, mem.growth_mb
    assert (
        sample is not None and len(sample.rows) == 1500 and sample.dims == dict.fromkeys(("m0", "m1", "m2", "m3"), 10)
    )
    assert sample.arrays["m0"].shape == (1500, 10) and set(np.unique(sample.arrays["m0"])) <= {0.0, 1.0}
    assert len(sample.target) == rows


def test_a_preview_sample_is_the_loaded_dataset_s_rows(data_dir: Path) -> None:
    """sample_dataset gives the same target, split and rows as load_dataset, reading only the sampled rows."""
    from omib_core.config import DataConfig
    from omib_core.data import sample_dataset

    uid = store_upload(good_files(), owner="ana")
    cfg = DataConfig(dataset=f"upload:{uid}", seed=3)
    ds, sample = load_dataset(cfg), sample_dataset(cfg, 25)
    np.testing.assert_array_equal(sample.target, ds.target)
    np.testing.assert_array_equal(sample.split, ds.split)
    assert len(sample.rows) == 25 and np.all(np.diff(sample.rows) > 0)
    for m, x in ds.modalities.items():
        np.testing.assert_array_equal(sample.arrays[m], x[sample.rows])
    assert sample_dataset(DataConfig(dataset="sim-i"), 25) is None  # generated data: load_dataset draws it


def test_a_1_gb_file_is_refused_by_its_size_before_it_is_copied(data_dir: Path) -> None:
    """store_upload copied a 1 GB file to the checker before refusing it (10.4 s, +1.0 GB) on dda1df2."""
    big = bytearray(2**30)  # allocated before measuring: what a library caller holds
    files = {**good_files(), "video.npy": big}
    with PeakRss() as mem:
        t0 = time.perf_counter()
        with pytest.raises(DataError, match=r"video.npy is 1024.0 MB; the limit is 50.0 MB per file"):
            store_upload(files, owner="mallory")
        seconds = time.perf_counter() - t0
    assert seconds < 1 and mem.growth_mb < 50, (seconds, mem.growth_mb)
