"""Line datasets: reference gt files, TSVs, PAGE-XML / ALTO pages, GNHK pages, pen strokes, text
corpora."""
