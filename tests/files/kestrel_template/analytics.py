#!/usr/bin/env python3
"""Hello-world Kestrel analytics with the template's exact behaviour (a compatibility fixture).

Reads the first input variable, adds ``x_new_attr`` = newval0, newval1, ..., writes it back as
gzip parquet and writes a one-line HTML display. It knows nothing about huntline on purpose.
"""

import pandas as pd

INPUT_DATA_PATH = "/data/input/0.parquet.gz"
OUTPUT_DATA_PATH = "/data/output/0.parquet.gz"
OUTPUT_DISPLAY = "/data/display/ret.html"


def analytics(dataframe):
    dataframe["x_new_attr"] = [f"newval{i}" for i in range(dataframe.shape[0])]
    return dataframe, "<p>Hello World! -- a Kestrel analytics</p>"


if __name__ == "__main__":
    frame, display = analytics(pd.read_parquet(INPUT_DATA_PATH))
    frame.to_parquet(OUTPUT_DATA_PATH, compression="gzip")
    with open(OUTPUT_DISPLAY, "w") as out:
        out.write(display)
