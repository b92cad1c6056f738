"""Time the help-center search on a large synthetic knowledge base.

Usage: python benchmarks/kb_scale.py [--articles N] [--queries Q] [--seed S]

Builds N synthetic articles (default 10,000: N/2 ids, each in zh-CN and en, as in the bundled
help center) whose text is drawn, seeded, from the bundled articles' vocabulary with their
lengths (zh bodies 400-500 characters, en bodies 200-300 words), then prints the index build
time and the per-query latency over a mix of short, long, mixed-language and empty queries:
`build=<s> s` and `p99=<ms> ms`.
"""

from __future__ import annotations

import argparse
import gc
import logging
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import jieba

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.loader import default_content_path, load_articles  # noqa: E402
from knowledge.models import Article  # noqa: E402
from knowledge.search import SearchIndex  # noqa: E402

_FALLBACK_ZH = (
    "账号 登录 验证码 密码 笔记 评论 视频 上传 退款 订单 发货 物流 快递 商家 优惠券 直播"
)
_FALLBACK_EN = "account login code password note comment video upload refund order seller coupon"


class Vocabulary:
    """Word frequencies of the bundled articles, to draw synthetic text from."""

    def __init__(self, articles: Sequence[Article]) -> None:
        jieba.setLogLevel(logging.WARNING)
        zh: Counter[str] = Counter()
        en: Counter[str] = Counter()
        for a in articles:
            if a.lang == "zh-CN":
                zh.update(w for w in jieba.lcut(a.body) if re.fullmatch(r"[\u4e00-\u9fff]+", w))
            else:
                en.update(re.findall(r"[a-z']+", a.body.lower()))
        zh = zh or Counter(_FALLBACK_ZH.split())
        en = en or Counter(_FALLBACK_EN.split())
        self.zh_words, self.zh_weights = list(zh), list(zh.values())
        self.en_words, self.en_weights = list(en), list(en.values())

    def zh(self, rng: random.Random, chars: int) -> str:
        """Chinese text of about `chars` characters, in sentences."""
        out: list[str] = []
        size = 0
        while size < chars:
            sentence = "".join(rng.choices(self.zh_words, self.zh_weights, k=rng.randint(4, 12)))
            out.append(sentence + "。")
            size += len(sentence) + 1
        return "".join(out)[:chars]

    def en(self, rng: random.Random, words: int) -> str:
        """English text of `words` words, in sentences."""
        picked = rng.choices(self.en_words, self.en_weights, k=words)
        return " ".join(w + ("." if i % 12 == 11 else "") for i, w in enumerate(picked))


def synthetic(vocab: Vocabulary, n: int, rng: random.Random) -> list[Article]:
    """N articles: N/2 ids in both languages, fixture-sized bodies."""
    areas = ["account", "content", "safety", "commerce", "creator", "business", "privacy", "app"]
    articles = []
    for i in range((n + 1) // 2):
        art_id = f"synthetic-{i:05d}"
        category = f"{rng.choice(areas)}/topic-{i % 50}"
        zh_kw = tuple(vocab.zh(rng, rng.randint(2, 5)) for _ in range(rng.randint(3, 8)))
        en_kw = tuple(vocab.en(rng, rng.randint(1, 3)) for _ in range(rng.randint(3, 8)))
        articles.append(
            Article(
                art_id,
                "zh-CN",
                vocab.zh(rng, rng.randint(8, 20)),
                category,
                zh_kw,
                vocab.zh(rng, rng.randint(400, 500)),
            )
        )
        if len(articles) < n:
            articles.append(
                Article(
                    art_id,
                    "en",
                    vocab.en(rng, rng.randint(5, 10)),
                    category,
                    en_kw,
                    vocab.en(rng, rng.randint(200, 300)),
                )
            )
    return articles


def queries(vocab: Vocabulary, count: int, rng: random.Random) -> list[str]:
    """Short and long queries in both languages, mixed ones, and a few pathological ones."""
    out = ["", "   ", "😀😀😀", "你好", "hello", "x" * 10_000, vocab.zh(rng, 10_000)]
    while len(out) < count:
        kind = rng.random()
        if kind < 0.5:
            out.append(vocab.zh(rng, rng.randint(4, 40)))
        elif kind < 0.85:
            out.append(vocab.en(rng, rng.randint(2, 20)))
        elif kind < 0.95:
            out.append(vocab.zh(rng, rng.randint(4, 15)) + " " + vocab.en(rng, rng.randint(1, 4)))
        else:
            out.append(vocab.zh(rng, 500) if rng.random() < 0.5 else vocab.en(rng, 300))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Build the synthetic index, time it and the queries, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    bundled = default_content_path()
    vocab = Vocabulary(load_articles(bundled) if (bundled / "articles").is_dir() else [])
    articles = synthetic(vocab, args.articles, rng)
    texts = queries(vocab, args.queries, rng)

    gc.collect()
    t0 = time.perf_counter()
    index = SearchIndex.build(articles)
    build = time.perf_counter() - t0

    index.search("warm up")
    millis = []
    for text in texts:
        t0 = time.perf_counter()
        index.search(text, lang="en", limit=5)
        millis.append((time.perf_counter() - t0) * 1000)
    millis.sort()
    p50 = millis[len(millis) // 2]
    p99 = millis[min(len(millis) - 1, int(len(millis) * 0.99))]
    print(f"articles={len(articles)} ids={len({a.id for a in articles})} queries={len(texts)}")
    print(f"p50={p50:.2f} ms max={millis[-1]:.2f} ms")
    print(f"p99={p99:.2f} ms")
    print(f"build={build:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
