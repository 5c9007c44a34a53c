"""The ``emkit`` command (or ``python -m emkit``).

``emkit`` alone runs the demo; ``emkit mclust data.csv`` clusters the numeric
columns of a CSV file as R's ``Mclust`` would and prints the BIC table and the
chosen model's summary.
"""
from __future__ import annotations

import argparse
import sys


def _parse_G(text: str) -> list[int]:
    """'1:9', '3' or '2,4,6' -> a list of component counts."""
    try:
        if ":" in text:
            lo, hi = (int(v) for v in text.split(":"))
            return list(range(lo, hi + 1))
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"G must look like 1:9, 3 or 2,4,6; got {text!r}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from .demo import main as demo

        demo()
        return 0
    parser = argparse.ArgumentParser(prog="emkit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("mclust", help="model-based clustering of a CSV file (R's Mclust)")
    p.add_argument("csv", help="a CSV file with a header row; non-numeric columns are "
                   "named in an error unless --columns picks the numeric ones")
    p.add_argument("--G", type=_parse_G, default=None, help="components, e.g. 1:9 (default)")
    p.add_argument("--models", default=None,
                   help="comma-separated model codes, e.g. EII,VVV (default: all)")
    p.add_argument("--columns", default=None, help="comma-separated columns to use")
    p.add_argument("--classification", metavar="OUT.csv", default=None,
                   help="write each row's class and uncertainty to this file")
    args = parser.parse_args(argv)

    import pandas as pd

    from .mclust_fit import mclust

    try:
        data = pd.read_csv(args.csv)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        parser.error(f"cannot read {args.csv}: {err}")
    if args.columns:
        wanted = [c.strip() for c in args.columns.split(",")]
        missing = [c for c in wanted if c not in data.columns]
        if missing:
            parser.error(f"column(s) {missing} are not in {args.csv}")
        data = data[wanted]
    models = [m.strip() for m in args.models.split(",")] if args.models else None
    try:
        res = mclust(data, G=args.G, models=models, verbose=sys.stderr.isatty())
    except (TypeError, ValueError) as err:
        print(f"emkit mclust: {err}", file=sys.stderr)
        return 2
    print(res.BIC)
    print()
    print(res.summary(parameters=True))
    if args.classification:
        pd.DataFrame({"classification": res.classification,
                      "uncertainty": res.uncertainty}).to_csv(args.classification, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
