"""Framework overhead per trial of ``hs.tune`` with a trivial trainable, and of
Ray Tune's ``tune.run`` on the same trainable when Ray is installed.

Usage::

    python benchmarks/bench_tune_overhead.py --num-samples 200 --reports 10
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--num-samples", type=int, default=200)
    ap.add_argument("--reports", type=int, default=10, help="hs.report calls per trial")
    ap.add_argument("--output", default=str(Path(__file__).resolve().parent / "results" / "tune_overhead.json"))
    args = ap.parse_args(argv)

    import hypersearch as hs

    def trainable(config):
        for i in range(args.reports):
            hs.report(loss=config["x"] + 1.0 / (i + 1))

    space = {"x": hs.uniform(0, 1)}
    out: dict = {"num_samples": args.num_samples, "reports": args.reports}
    for label, sched in [
        ("hs.tune, no scheduler", None),
        ("hs.tune, ASHA", hs.schedulers.ASHA(metric="loss", mode="min", max_t=args.reports, grace_period=1)),
    ]:
        t0 = time.perf_counter()
        hs.tune(trainable, space, metric="loss", mode="min", num_samples=args.num_samples,
                scheduler=sched, sampler=hs.samplers.RandomSampler(seed=0), show_progress_bar=False)
        ms = 1000 * (time.perf_counter() - t0) / args.num_samples
        out[label] = ms
        print(f"{label:28s} {ms:8.2f} ms per trial ({args.reports} reports each)", flush=True)
    try:
        import ray
        from ray import tune as rtune

        def rtrainable(config):
            for i in range(args.reports):
                rtune.report({"loss": config["x"] + 1.0 / (i + 1)})

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        t0 = time.perf_counter()
        rtune.run(rtrainable, config={"x": rtune.uniform(0, 1)}, num_samples=min(args.num_samples, 20), verbose=0)
        ms = 1000 * (time.perf_counter() - t0) / min(args.num_samples, 20)
        out["ray tune.run"] = ms
        print(f"{'ray tune.run':28s} {ms:8.2f} ms per trial", flush=True)
        ray.shutdown()
    except ImportError:
        print("ray is not installed: Ray Tune row skipped (pip install 'hypersearch[ray]')")
    p = Path(args.output)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(out, indent=1))
    print(f"results written to {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
