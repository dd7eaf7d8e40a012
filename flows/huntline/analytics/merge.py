"""Check an analytics output at the boundary and merge it back into its variable by ``id``.

Merge semantics follow Kestrel 1.x, where the docker interface hands each output to firepit's
``reassign``: the output rows are upserted into the entity table by ``id`` and the variable's
view is recreated with its old definition. So, for a variable V and an output O:

* rows of V whose ``id`` is in O take O's values for every column O has (new columns are added;
  a value O sets to null becomes null);
* columns O lacks keep V's values;
* rows of V missing from O are kept unchanged (an analytics may return only what it scored);
* rows of O whose ``id`` is not in V are ignored (the view never selected them), with a warning;
* if O repeats an ``id``, the last row wins (an upsert); an empty O changes nothing.

Row order and the index of V are preserved, so the merged variable lines up with the input.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from huntline.analytics import contract
from huntline.errors import AnalyticsError

log = logging.getLogger(__name__)


def read_output(path: Path, *, image: str, file: str | None = None) -> pd.DataFrame:
    """Read an output file (snappy or gzip parquet) and check the required columns."""
    name = file or f"{contract.OUTPUT_DIR}/{path.name}"
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise AnalyticsError(
            f"analytics {image} wrote {name}, which is not a readable parquet file: {error}",
            image=image,
            file=name,
            hint="outputs must be parquet (gzip or snappy) written to /data/output/{i}.parquet.gz",
        ) from error
    frame = table.to_pandas()
    check_output(frame, image=image, file=name)
    return frame


def check_output(output: pd.DataFrame, *, image: str, file: str) -> None:
    """Raise unless ``output`` keeps ``id`` and ``type`` and every ``id`` is set."""
    missing = [column for column in contract.REQUIRED_COLUMNS if column not in output.columns]
    if missing:
        raise AnalyticsError(
            f"analytics {image} wrote {file} without the required column(s) {', '.join(missing)}",
            image=image,
            file=file,
            missing=missing,
            hint="an analytics output must keep the `id` and `type` columns of its input",
        )
    null_ids = int(output["id"].isna().sum())
    if null_ids:
        raise AnalyticsError(
            f"analytics {image} wrote {file} with {null_ids} row(s) without an id",
            image=image,
            file=file,
        )


def merge_output(
    variable: pd.DataFrame, output: pd.DataFrame, *, image: str, file: str
) -> pd.DataFrame:
    """Merge an analytics output into its input variable by ``id`` (see module docstring)."""
    check_output(output, image=image, file=file)
    if "id" not in variable.columns:
        raise AnalyticsError(
            f"variable passed to {image} has no id column; cannot merge {file}",
            image=image,
            file=file,
        )
    if output.empty:
        return variable.copy()
    updates = output.drop_duplicates("id", keep="last").set_index("id")
    # Arrow's hash lookup: pandas' isin on Arrow strings loops in Python (0.5 s at 100k ids)
    known = pc.is_in(
        pa.array(updates.index.astype(str)), value_set=pa.array(variable["id"].astype(str))
    )
    unknown = ~np.asarray(known.to_numpy(zero_copy_only=False), dtype=bool)
    if unknown.any():
        log.warning(
            "%s: %s has %d row(s) whose id is not in the variable; ignored",
            image,
            file,
            int(unknown.sum()),
        )
    ids = variable["id"].to_numpy()
    matched = pd.Index(updates.index).get_indexer(ids) >= 0
    merged = variable.copy()
    for column in updates.columns:
        new_values = updates[column].reindex(ids).set_axis(merged.index)
        if matched.all() or column not in merged.columns:
            merged[column] = new_values
        else:
            merged[column] = _combine(merged[column], new_values, matched)
    return merged


def _combine(old: pd.Series, new: pd.Series, matched: np.ndarray) -> pd.Series:
    """Take ``new`` where matched, else ``old``, in a dtype that holds both (by position)."""
    mask = pd.Series(matched)
    old_pos, new_pos = old.reset_index(drop=True), new.reset_index(drop=True)
    combined = pd.concat([old_pos[~mask], new_pos[mask]]).sort_index()
    return combined.set_axis(old.index).rename(old.name)


def merge_output_file(
    variable: pd.DataFrame, path: Path, *, image: str, file: str | None = None
) -> pd.DataFrame:
    """Read, check and merge one output file."""
    name = file or f"{contract.OUTPUT_DIR}/{path.name}"
    return merge_output(variable, read_output(path, image=image, file=name), image=image, file=name)
