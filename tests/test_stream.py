

def test_paths_are_accepted_where_strings_are(tmp_path) -> None:
    from posetool.stream import StreamWriter, make_frame, make_header, read_stream

    path = tmp_path / "p.msgpack"  # a pathlib.Path, as API users pass them
    with StreamWriter(path) as w:
        w.write(make_header({"width": 8, "height": 8, "fps": 25.0, "frames": 1}, "coco17"))
        w.write(make_frame(0, 0.0, []))
    recs = read_stream(path, strict=False)
    assert [r["type"] for r in recs][:2] == ["header", "frame"]
