"""The WordPress connector against a real WordPress: comments in (held ones too), replies out, moderation."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest

from townhall.connectors.base import ChannelConfig, Outgoing
from townhall.connectors.http import ConnectorError, HttpClient
from townhall.connectors.models import Channel
from townhall.connectors.services import do_create_channel
from townhall.connectors.sync import config_of, do_sync
from townhall.connectors.wordpress import WordPressConnector, html_to_text, site_key
from townhall.items.models import Item
from townhall.workspaces.models import Workspace

if TYPE_CHECKING:
    from peers.wordpress import WordPressSite

pytest_plugins = ["peers.wordpress"]  # the `wordpress_site` server fixture

_names = itertools.count(1)


def new_login(prefix: str) -> str:
    """A fresh login: the site lives for the session, and a user's first comment is held only once."""
    return f"{prefix}{next(_names)}"


def blog_channel(
    workspace: Workspace, site: WordPressSite, *, login: str = "brand", **settings: object
) -> Channel:
    credentials = {"site_url": site.url, "username": login, "app_password": site.passwords[login]}
    return do_create_channel(
        workspace=workspace,
        network="wordpress",
        handle="blog",
        credentials=credentials,
        settings=dict(settings),
    )


def sync(channel: Channel) -> tuple[int, int]:
    result = do_sync(channel, connector=WordPressConnector(config_of(channel)))
    assert not result.error, result.error
    return result.imported, result.duplicates


def comment_on(site: WordPressSite, who: str, post: int, text: str, **fields: object) -> int:
    return int(
        site.call(who, "POST", "comments", json={"post": post, "content": text, **fields}).json()["id"]
    )


def server_comment(site: WordPressSite, number: int) -> dict[str, object]:
    return dict(site.call("brand", "GET", f"comments/{number}", params={"context": "edit"}).json())


def item(site: WordPressSite, kind: str, number: int) -> Item:
    return Item.objects.select_related("author", "parent", "thread_root").get(
        native_id=f"{site_key(site.url)}#{kind}-{number}"
    )


def test_check_says_whether_the_credentials_work(wordpress_site: WordPressSite) -> None:
    site = wordpress_site
    good = ChannelConfig(
        network="wordpress", handle="blog",
        credentials={"site_url": site.url, "username": "brand", "app_password": site.passwords["brand"]},
    )  # fmt: skip
    health = WordPressConnector(good).check()
    assert health.ok and health.account == "brand" and "Acme Brand" in health.message

    wrong = ChannelConfig(
        network="wordpress", handle="blog", credentials={**good.credentials, "app_password": "x" * 24}
    )
    health = WordPressConnector(wrong).check()
    assert not health.ok and "refused" in health.message

    reader = new_login("reader")
    site.make_user(reader, "Rita Reader")
    limited = ChannelConfig(
        network="wordpress", handle="blog",
        credentials={"site_url": site.url, "username": reader, "app_password": site.passwords[reader]},
    )  # fmt: skip
    health = WordPressConnector(limited).check()
    assert health.ok and "may not moderate" in health.message

    gone = ChannelConfig(
        network="wordpress", handle="blog", credentials={**good.credentials, "site_url": "http://127.0.0.1:9"}
    )
    assert not WordPressConnector(gone, http=HttpClient(retries=0)).check().ok
    assert not WordPressConnector(ChannelConfig(network="wordpress", handle="blog")).check().ok


@pytest.mark.django_db
def test_visitors_comments_come_in_and_the_brand_replies_and_moderates(
    workspace: Workspace, wordpress_site: WordPressSite
) -> None:
    site = wordpress_site
    channel = blog_channel(workspace, site)
    connector = WordPressConnector(config_of(channel))
    published = connector.publish(
        Outgoing(text="We open at 9 from Monday.", extra={"title": "New opening hours"})
    )
    post = connector.parse_id(published.native_id, "post")[1]
    on_server = site.call("brand", "GET", f"posts/{post}").json()
    assert on_server["title"]["rendered"] == "New opening hours" and on_server["status"] == "publish"

    visitor = site.make_user(new_login("visitor"), "Vera Visitor")
    asked = comment_on(site, visitor, post, "Does that include Saturdays?")
    guest = comment_on(
        site, "guest", post, "Great news!", author_name="Gus Guest", author_email="gus@example.test"
    )
    assert server_comment(site, asked)["status"] == "hold"  # a first comment waits for moderation

    imported, duplicates = sync(channel)
    assert imported >= 3 and duplicates == 0
    root = item(site, "post", post)
    assert (root.kind, root.direction) == ("post", "outbound")
    assert root.text == "New opening hours\n\nWe open at 9 from Monday."
    question = item(site, "comment", asked)
    assert (question.kind, question.direction, question.text) == (
        "comment",
        "inbound",
        "Does that include Saturdays?",
    )
    assert question.parent == root and question.thread_root == root
    assert question.author is not None and question.author.display_name == "Vera Visitor"
    assert question.raw["status"] == "hold"
    praise = item(site, "comment", guest)
    assert praise.author is not None and praise.author.handle == "Gus Guest" and praise.parent == root

    reply = connector.publish(Outgoing(text="Yes, Saturdays too.", reply_to=question.native_id))
    answer = server_comment(site, connector.parse_id(reply.native_id, "comment")[1])
    assert (answer["post"], answer["parent"], answer["author"]) == (post, asked, 1)
    assert "Yes, Saturdays too." in str(answer["content"])

    assert sync(channel) == (1, 0)  # the reply, and nothing twice
    ours = item(site, "comment", int(answer["id"]))  # type: ignore[call-overload]
    assert ours.direction == "outbound" and ours.parent == question and ours.thread_root == root
    assert sync(channel) == (0, 0)

    again = comment_on(site, visitor, post, "Buy cheap watches at example.test")
    assert sync(channel) == (1, 0)
    assert item(site, "comment", again).parent == root

    connector.moderate("spam", item(site, "comment", again).native_id)
    connector.moderate("delete", praise.native_id)
    connector.moderate("approve", question.native_id)
    assert server_comment(site, again)["status"] == "spam"
    assert server_comment(site, guest)["status"] == "trash"
    assert server_comment(site, asked)["status"] == "approved"
    connector.moderate("hide", question.native_id)
    assert server_comment(site, asked)["status"] == "hold"
    connector.moderate("delete", praise.native_id)  # already in the trash: nothing to do, no error
    assert sync(channel) == (0, 0)


@pytest.mark.django_db
def test_a_comment_approved_later_and_a_new_post_still_come_in(
    workspace: Workspace, wordpress_site: WordPressSite
) -> None:
    site = wordpress_site
    channel = blog_channel(workspace, site)
    sync(channel)
    post = int(site.call("brand", "POST", "posts", json={"title": "Spring sale", "content": "Half price.",
                                                        "status": "publish"}).json()["id"])  # fmt: skip
    visitor = site.make_user(new_login("visitor"), "Sam Sender")
    caught = comment_on(site, visitor, post, "Is this real?")
    site.call("brand", "POST", f"comments/{caught}", json={"status": "spam"})  # as a spam filter would

    assert sync(channel) == (1, 0)  # the new post; the spam comment stays out
    assert item(site, "post", post).direction == "outbound"
    assert not Item.objects.filter(native_id__endswith=f"#comment-{caught}").exists()
    assert caught in Channel.objects.get(pk=channel.pk).cursor["gaps"]

    site.call("brand", "POST", f"comments/{caught}", json={"status": "approved"})  # not spam after all
    assert sync(channel) == (1, 0)
    assert item(site, "comment", caught).parent == item(site, "post", post)
    assert sync(channel) == (0, 0)


@pytest.mark.django_db
def test_an_account_that_cannot_moderate_reads_approved_comments(
    workspace: Workspace, wordpress_site: WordPressSite
) -> None:
    site = wordpress_site
    reader = site.make_user(new_login("reader"), "Rita Reader")
    channel = blog_channel(workspace, site, login=reader)
    sync(channel)
    visitor = site.make_user(new_login("visitor"), "Hal Held")
    held = comment_on(site, visitor, 1, "Waiting for a moderator")
    later = comment_on(site, "brand", 1, "Welcome, everyone")

    assert sync(channel) == (1, 0)  # a subscriber sees the approved comment, not the held one before it
    assert item(site, "comment", later).direction == "inbound"  # the channel is the reader's, not the brand's
    assert held in Channel.objects.get(pk=channel.pk).cursor["gaps"]
    site.call("brand", "POST", f"comments/{held}", json={"status": "approved"})
    assert sync(channel) == (1, 0)
    assert item(site, "comment", held).text == "Waiting for a moderator"
    with pytest.raises(ConnectorError):
        WordPressConnector(config_of(channel)).moderate("spam", item(site, "comment", held).native_id)


@pytest.mark.django_db
def test_a_busy_site_comes_in_page_by_page_once(workspace: Workspace, wordpress_site: WordPressSite) -> None:
    site = wordpress_site
    post = int(site.call("brand", "POST", "posts", json={"title": "Busy", "status": "publish"}).json()["id"])
    first = comment_on(site, "brand", post, "comment 1")
    for n in range(2, 6):
        comment_on(site, "brand", post, f"comment {n}")
    channel = blog_channel(workspace, site, page_size=2, backfill=5)

    result = do_sync(channel, connector=WordPressConnector(config_of(channel)))
    # three windows of two ids, then the caught-up page; the five comments and their post, each once
    assert (result.error, result.pages, result.imported, result.duplicates) == ("", 4, 6, 0)
    texts = Item.objects.filter(kind="comment", parent__native_id__endswith=f"#post-{post}").values_list(
        "text", flat=True
    )
    assert sorted(texts) == [f"comment {n}" for n in range(1, 6)]
    assert item(site, "comment", first).direction == "outbound"


def test_replies_and_moderation_refuse_what_wordpress_cannot_do(wordpress_site: WordPressSite) -> None:
    site = wordpress_site
    connector = WordPressConnector(ChannelConfig(
        network="wordpress", handle="blog",
        credentials={"site_url": site.url, "username": "brand", "app_password": site.passwords["brand"]},
    ))  # fmt: skip
    with pytest.raises(ConnectorError, match="cannot ban"):
        connector.moderate("ban", f"{site_key(site.url)}#comment-1")
    with pytest.raises(ConnectorError, match="another site"):
        connector.publish(Outgoing(text="hi", reply_to="blog.example.com#comment-1"))
    with pytest.raises(ConnectorError, match="only be deleted"):
        connector.moderate("spam", f"{site_key(site.url)}#post-1")
    brand = connector.profile(f"{site_key(site.url)}#user-1")
    assert (brand.handle, brand.display_name) == ("brand", "Acme Brand")


def test_html_becomes_plain_text_with_its_breaks() -> None:
    assert (
        html_to_text("<p>Hi,<br />\nthere &amp; <a href='x'>here</a></p>\n<p>Bye</p>")
        == "Hi,\nthere & here\n\nBye"
    )
    assert html_to_text("") == ""


def test_native_ids_name_the_site_without_its_scheme() -> None:
    assert site_key("https://Blog.Example.com/") == "blog.example.com"
    assert site_key("http://127.0.0.1:8080/news/") == "127.0.0.1:8080/news"
