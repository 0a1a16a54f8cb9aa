"""The toxicity classifiers: the shipped model scores for real; the hosted adapter speaks the
OpenAI-compatible moderation protocol (against a fake endpoint) and fails as unavailable."""

from __future__ import annotations

import json

import httpx
import pytest

from streams.rooms.classifiers import HostedModel, ShippedModel, build_model
from streams.rooms.toxicity import ClassifierUnavailable
from streams.settings import RoomSettings


async def test_the_shipped_model_scores_abuse_above_friendly_chat_in_one_batch() -> None:
    friendly, abusive = await ShippedModel().scores(
        ["thanks for the stream, see you tomorrow", "shut up you stupid loser"]
    )
    assert 0.0 <= friendly < 0.5 < abusive <= 1.0
    assert await ShippedModel().scores([]) == []


CHAT = [
    "thanks for the stream, see you tomorrow",
    "shut up you stupid loser",
    "",
    "!!!",
    "you are an idiot idiot idiot, go away",
    "Ünïcödé wörds and THE the the",
    "GG wp, that clutch was insane",
    "a" * 300,
    "kill yourself",
    "what a damn good play",
]


def test_the_shipped_model_scores_exactly_as_the_packages_scikit_learn_pipeline() -> None:
    from profanity_check import predict_prob

    model = ShippedModel()
    texts = CHAT * 4  # 40: the batch path, and each message alone
    expected = [float(p) for p in predict_prob(texts)]
    assert [model.score(text) for text in texts] == pytest.approx(expected, abs=1e-12)
    assert len(texts) >= model.VECTORIZED_FROM
    assert model.score_all(texts) == pytest.approx(expected, abs=1e-12)


def endpoint(
    answer: httpx.Response | None = None, seen: list[httpx.Request] | None = None
) -> httpx.AsyncClient:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if answer is not None:
            return answer
        texts = json.loads(request.content)["input"]
        return httpx.Response(
            200,
            json={
                "results": [
                    {"category_scores": {"harassment": 0.9 if "idiot" in t else 0.01, "hate": 0.2}}
                    for t in texts
                ]
            },
        )

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


async def test_the_hosted_model_sends_the_batch_and_takes_each_messages_highest_category() -> None:
    seen: list[httpx.Request] = []
    model = HostedModel(
        "https://moderation.test/v1/moderations",
        "sk-test",
        "omni-moderation-latest",
        client=endpoint(seen=seen),
    )
    assert await model.scores(["hello", "you idiot"]) == [0.2, 0.9]
    (request,) = seen
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert json.loads(request.content) == {"model": "omni-moderation-latest", "input": ["hello", "you idiot"]}


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503, text="overloaded"),
        httpx.Response(200, json={"unexpected": []}),
        httpx.Response(200, json={"results": [{"category_scores": {"hate": 0.1}}]}),  # one for two
    ],
    ids=["5xx", "malformed", "short"],
)
async def test_a_hosted_model_that_fails_or_answers_nonsense_is_unavailable(answer: httpx.Response) -> None:
    model = HostedModel("https://moderation.test/v1/moderations", "", "m", client=endpoint(answer))
    with pytest.raises(ClassifierUnavailable):
        await model.scores(["a", "b"])


def test_the_settings_choose_the_classifier() -> None:
    assert isinstance(build_model(RoomSettings()), ShippedModel)
    assert isinstance(build_model(RoomSettings(toxicity_model="hosted")), HostedModel)
    assert build_model(RoomSettings(toxicity_model="none")) is None
