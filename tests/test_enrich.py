"""Understanding through the product's interfaces: ingest, the API, corrections that retrain, the CLI."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import ApiClient
from townhall.cli import main
from townhall.enrich import engine
from townhall.enrich.models import Enrichment
from townhall.workspaces.models import Workspace


@pytest.fixture(autouse=True)
def _understanding_on(settings: Any) -> None:
    settings.UNDERSTANDING_PATH = "fast"


def _item(n: int, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "network": "mastodon",
        "id": str(n),
        "created_at": f"2026-05-01T10:{n % 60:02d}:00Z",
        "text": text,
        "kind": "mention",
        "author": {"id": f"a{n}", "handle": f"fan{n}"},
        "channel": "acme@social.example",
        **extra,
    }


def _ingest(api: ApiClient, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = api.post("/workspaces/acme/items", {"items": items})
    assert response.status_code == 200, response.content
    assert response.json()["rejected"] == 0
    listed = api.get("/workspaces/acme/items", limit=200).json()["items"]
    by_native = {i["native_id"]: i for i in listed}
    return [by_native[str(i["id"])] for i in items]


def test_every_ingested_item_is_understood(owner_api: ApiClient) -> None:
    angry, happy, spam = _ingest(
        owner_api,
        [
            _item(1, "@acme my order never arrived and support ignores me. worst service ever #fail"),
            _item(2, "@acme thank you so much, the new update is amazing! love it $ACME"),
            _item(3, "check out my channel!!! subscribe for free gift cards http://free-gifts.example.com"),
        ],
    )
    for item in (angry, happy, spam):
        seen = item["understanding"]
        assert seen is not None
        assert seen["path"] in engine.PATHS
        assert seen["language"] == "en" and seen["language_confidence"] > 0.5
        assert -1 <= seen["sentiment_score"] <= 1
        assert seen["intents"] and seen["primary_intent"] == seen["intents"][0]["label"]
    assert angry["understanding"]["sentiment"] == "negative"
    assert "complaint" in {i["label"] for i in angry["understanding"]["intents"]}
    assert angry["understanding"]["entities"]["hashtags"] == ["fail"]
    assert angry["understanding"]["entities"]["mentions"] == ["acme"]
    assert happy["understanding"]["sentiment"] == "positive"
    assert happy["understanding"]["entities"]["cashtags"] == ["ACME"]
    assert spam["understanding"]["spam_probability"] > angry["understanding"]["spam_probability"]
    assert spam["understanding"]["entities"]["urls"] == ["http://free-gifts.example.com"]
    detail = owner_api.get(f"/workspaces/acme/items/{angry['id']}").json()
    assert detail["understanding"]["sentiment"] == "negative"


def test_items_without_words_get_an_explicit_unknown(owner_api: ApiClient) -> None:
    emoji, link, foreign = _ingest(
        owner_api,
        [
            _item(10, "😍😍😍"),
            _item(11, "https://t.co/abc123"),
            _item(12, "Ich bin mit dem Kundendienst sehr zufrieden, danke!"),
        ],
    )
    for item in (emoji, link):
        assert item["understanding"]["language"] == "unknown"
        assert item["understanding"]["language_confidence"] == 0.0
    assert link["understanding"]["sentiment"] == "unknown"
    assert link["understanding"]["primary_intent"] == "other"
    assert foreign["understanding"]["language"] == "de"


def test_items_filter_by_sentiment_and_intent(owner_api: ApiClient) -> None:
    _ingest(
        owner_api,
        [
            _item(20, "@acme you charged me twice this month, I want a refund now"),
            _item(21, "@acme thanks, great job team, really happy with the fix"),
        ],
    )
    negative = owner_api.get("/workspaces/acme/items", sentiment="negative").json()["items"]
    assert [i["native_id"] for i in negative] == ["20"]
    refunds = owner_api.get("/workspaces/acme/items", intent="billing_refund").json()["items"]
    assert [i["native_id"] for i in refunds] == ["20"]
    assert owner_api.get("/workspaces/acme/items", sentiment="furious").status_code == 422


def test_a_correction_shows_at_once_and_is_kept(owner_api: ApiClient) -> None:
    (item,) = _ingest(owner_api, [_item(30, "@acme the new War Zone mode is killing it tonight")])
    corrected = owner_api.post(
        f"/workspaces/acme/items/{item['id']}/corrections", {"field": "sentiment", "labels": ["positive"]}
    )
    assert corrected.status_code == 200, corrected.content
    assert corrected.json()["sentiment"] == "positive"
    assert corrected.json()["sentiment_source"] == "correction"
    intents = owner_api.post(
        f"/workspaces/acme/items/{item['id']}/corrections", {"field": "intent", "labels": ["praise", "other"]}
    ).json()
    assert [i["label"] for i in intents["intents"]] == ["praise", "other"]
    bad = owner_api.post(
        f"/workspaces/acme/items/{item['id']}/corrections", {"field": "sentiment", "labels": ["meh"]}
    )
    assert bad.status_code == 422 and "meh" in bad.json()["detail"]


def test_corrections_retrain_the_workspace_war_zone_stops_reading_negative(
    owner_api: ApiClient, workspace: Workspace
) -> None:
    """A game whose mode is called "War Zone": a few corrections teach the workspace it is not a threat."""
    before = _ingest(
        owner_api,
        [
            _item(40, "War Zone is back this weekend with the new maps"),
            _item(41, "Who else is playing War Zone tonight?"),
            _item(42, "War Zone season 3 drops on Friday"),
            _item(43, "Just got my first win in War Zone, finally"),
            _item(44, "War Zone servers are up again after maintenance"),
        ],
    )
    for item in before:
        owner_api.post(
            f"/workspaces/acme/items/{item['id']}/corrections", {"field": "sentiment", "labels": ["positive"]}
        )
    result = CliRunner().invoke(main, ["enrich", "retrain", "--workspace", "acme"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["examples"]["sentiment"] == 5
    later = _ingest(
        owner_api,
        [
            _item(50, "Queuing up for War Zone with the squad"),
            _item(51, "War Zone tournament starts at 8pm"),
        ],
    )
    assert all(i["understanding"]["sentiment"] != "negative" for i in later)
    # and an unrelated complaint is still read as one
    (complaint,) = _ingest(
        owner_api, [_item(52, "@acme your support is useless, still no refund after 3 weeks")]
    )
    assert complaint["understanding"]["sentiment"] == "negative"


def test_the_channel_setting_chooses_the_path(
    owner_api: ApiClient, workspace: Workspace, settings: Any
) -> None:
    settings.UNDERSTANDING_PATH = "channel"
    (listened,) = _ingest(owner_api, [_item(59, "@acme hello from a source we only listen to", channel="")])
    assert Enrichment.objects.get(item_id=listened["id"]).path == "fast"
    channel = owner_api.post(
        "/workspaces/acme/channels",
        {"network": "mastodon", "handle": "acme@social.example", "settings": {"understanding_path": "fast"}},
    ).json()
    (item,) = _ingest(owner_api, [_item(60, "@acme hello there")])
    assert item["channel_id"] == channel["id"]
    assert Enrichment.objects.get(item_id=item["id"]).path == "fast"


def test_requesters_cannot_correct(
    workspace: Workspace,
    make_member: Callable[..., Any],
    api_as: Callable[[Any], ApiClient],
    owner_api: ApiClient,
) -> None:
    (item,) = _ingest(owner_api, [_item(70, "@acme hi")])
    requester = api_as(make_member(workspace, "requester"))
    response = requester.post(
        f"/workspaces/acme/items/{item['id']}/corrections", {"field": "sentiment", "labels": ["neutral"]}
    )
    assert response.status_code == 403


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("model_path", ["fast", "accurate"])
def test_eval_cli_scores_sentiment_on_a_labelled_file(tmp_path: Path, model_path: str, db: None) -> None:
    data = _write_csv(
        tmp_path / "sentiment.csv",
        [
            ("I love this, best purchase ever", "positive"),
            ("Absolutely terrible, I want my money back", "negative"),
            ("The store opens at 9am on Mondays", "neutral"),
            ("worst customer service I have ever had", "negative"),
        ],
    )
    result = CliRunner().invoke(main, ["eval", "sentiment", "--data", str(data), "--path", model_path])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["n"] == 4
    assert set(figures) >= {"macro_recall", "accuracy", "macro_f1"}
    assert figures["accuracy"] >= 0.75


def test_eval_cli_spam_toxicity_and_a_bad_file(tmp_path: Path, db: None) -> None:
    spam = _write_csv(
        tmp_path / "spam.csv",
        [
            ("subscribe to my channel for free money http://x.example", "spam"),
            ("great song, brings back memories", "ham"),
        ],
    )
    out = CliRunner().invoke(main, ["eval", "spam", "--data", str(spam), "--path", "fast"])
    assert set(json.loads(out.output.strip().splitlines()[-1])) >= {"n", "f1", "precision", "recall"}
    toxic = _write_csv(tmp_path / "tox.csv", [("have a lovely day everyone", "neither")])
    out = CliRunner().invoke(main, ["eval", "toxicity", "--data", str(toxic), "--path", "fast"])
    assert "macro_f1" in json.loads(out.output.strip().splitlines()[-1])
    (tmp_path / "bad.csv").write_text("words,stuff\na,b\n")
    out = CliRunner().invoke(main, ["eval", "sentiment", "--data", str(tmp_path / "bad.csv")])
    assert out.exit_code == 2 and "'text' and 'label'" in out.output


def test_our_own_accounts_take_the_accurate_path_by_default(owner_api: ApiClient, settings: Any) -> None:
    settings.UNDERSTANDING_PATH = "channel"
    (item,) = _ingest(owner_api, [_item(80, "@acme I was double charged and nobody answers my emails")])
    seen = item["understanding"]
    assert seen["path"] == "accurate"
    assert seen["sentiment"] == "negative"
    assert "billing_refund" in {i["label"] for i in seen["intents"]}


INTENT_EXAMPLES = {
    "card_lost": [
        "I lost my card yesterday",
        "my card is missing, what do I do",
        "can't find my debit card anywhere",
        "I think someone stole my card",
        "lost my bank card on the bus",
        "my credit card has disappeared",
        "please block my card, I lost it",
        "where do I report a lost card",
    ],
    "exchange_rate": [
        "what exchange rate do you use",
        "how much is 100 euros in dollars with you",
        "is the currency conversion rate fair",
        "what's today's rate for GBP to EUR",
        "do you charge a markup on exchange rates",
        "why was the exchange rate so bad on my payment",
        "which rate applies when I pay abroad",
        "how are foreign currency rates calculated",
    ],
    "top_up_failed": [
        "my top up didn't work",
        "tried to add money but the top-up failed",
        "top up declined, why",
        "I can't top up my account",
        "the transfer to top up my balance was rejected",
        "topping up keeps failing with an error",
        "why won't my top up go through",
        "added money but the top up is not showing",
    ],
}
OUT_OF_SCOPE = [
    "what's the weather like in Paris",
    "tell me a joke",
    "who won the football match last night",
    "recommend a good pizza place",
    "how tall is the Eiffel tower",
    "play some music",
]


def test_workspace_defined_intents_train_classify_and_evaluate(tmp_path: Path, db: None) -> None:
    rows = [(text, label) for label, texts in INTENT_EXAMPLES.items() for text in texts]
    rows += [(text, "oos") for text in OUT_OF_SCOPE]
    data = _write_csv(tmp_path / "bank.csv", rows)
    trained = CliRunner().invoke(main, ["intents", "train", "--name", "bank", "--data", str(data)])
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.output.strip().splitlines()[-1])
    assert summary["intents"] == 3 and summary["examples"] == len(rows)
    test = _write_csv(
        tmp_path / "bank-test.csv",
        [
            ("I have lost my card", "card_lost"),
            ("what rate do you give for dollars", "exchange_rate"),
            ("my top-up failed again", "top_up_failed"),
            ("what's a good movie to watch tonight", "oos"),
        ],
    )
    scored = CliRunner().invoke(main, ["eval", "intents", "--name", "bank", "--data", str(test)])
    assert scored.exit_code == 0, scored.output
    figures = json.loads(scored.output.strip().splitlines()[-1])
    assert figures["n"] == 4 and figures["n_oos"] == 1
    assert figures["accuracy"] >= 2 / 3
    assert "oos_recall" in figures
    missing = CliRunner().invoke(main, ["eval", "intents", "--name", "nope", "--data", str(test)])
    assert missing.exit_code == 2 and "no intent set named" in missing.output
