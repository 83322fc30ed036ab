"""What each post will look like on every channel, for the staff to judge before anything is sent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publisher.build import link_warnings, plan_post
from publisher.calendar import CHANNELS, channel_enabled, plan_deliveries, planned_time
from publisher.config import Config
from publisher.content import Post, load_posts, named_after, post_files, post_warnings, read_post
from publisher.exceptions import ContentError, ContentWarning, PublisherError
from publisher.render.markdown import RenderedMarkdown
from publisher.render.site import PostPage
from publisher.render.social import (
    FACEBOOK_MESSAGE_MAX,
    INSTAGRAM_CAPTION_MAX,
    INSTAGRAM_MENTIONS_MAX,
    FacebookPost,
    InstagramPost,
    SocialRenderer,
    post_url,
)
from publisher.times import now as current_time

if TYPE_CHECKING:
    from publisher.agenda import AgendaEntry


@dataclass
class PostPreview:
    """One post on every channel: texts, counts against the limits, times and problems."""

    source: str
    post: Post | None
    page: PostPage | None = None
    facebook: FacebookPost | None = None
    instagram: InstagramPost | None = None
    times: dict[str, datetime | None] = field(default_factory=dict)
    problems: list[ContentError] = field(default_factory=list)

    @property
    def rendered(self) -> RenderedMarkdown | None:
        """The post's Markdown, rendered once."""
        return self.page.rendered if self.page else None

    @property
    def stopped(self) -> bool:
        """Whether it has a problem that stops it (not only warnings, as a draft has of what
        Facebook or Instagram would refuse)."""
        return self.post is None or any(not isinstance(p, ContentWarning) for p in self.problems)

    def status(self, at: datetime) -> str:
        """'problem', 'draft', 'scheduled' or 'published' (its website time has come)."""
        if self.stopped:
            return "problem"
        if self.post.draft:
            return "draft"
        return "published" if self.post.date <= at else "scheduled"


def preview_posts(config: Config, files: Sequence[Path | str] | None = None) -> list[PostPreview]:
    """Previews of the given posts (default: every post), in calendar order.

    A post is named by its file or by its slug (the POST column of `calendar` and `status`).
    """
    social = SocialRenderer(config)
    previews: list[PostPreview] = []
    if files is None:
        loaded = load_posts(config)
        for problem in loaded.problems:
            previews.append(PostPreview(source=problem.path, post=None, problems=[problem]))
        posts = list(loaded.posts)
        everything = posts
    else:
        # Slot times depend on every post, so the calendar is planned over all of them.
        everything = list(load_posts(config).posts)
        by_slug = {post.slug: post for post in everything}
        posts = []
        for name in files:
            path = next((p for p in (Path(name), config.posts_dir / name) if p.is_file()), None)
            if path is None and str(name) in by_slug:
                posts.append(by_slug[str(name)])
                continue
            if path is None:  # the post of that slug may be one that has a problem
                path = _file_of_slug(str(name), config)
            if path is None:
                raise PublisherError(
                    f"{name}: no such post file, and no post has that slug{_like(name, by_slug)}"
                    " (give a file, posts/FILE.md, or a slug from the POST column of "
                    "`publisher calendar`)"
                )
            post, problems = read_post(path.resolve(), config)
            if post is None:
                previews.append(
                    PostPreview(source=config.display_path(path), post=None, problems=problems)
                )
            else:
                posts.append(post)
    # what went out already went out at its time, whatever the post's at: says now
    from publisher.agenda import as_the_next_pass_sees, fixed_times
    from publisher.build import ledger_records

    records = as_the_next_pass_sees(everything, ledger_records(config))
    times: dict[tuple[str, str], datetime] = {
        (d.post.slug, d.channel): d.due.astimezone(config.tz)
        for d in plan_deliveries(
            everything,
            config,
            fixed_times({(r.slug, r.channel): r for r in records}),
            include_drafts=True,
        )
    }
    slugs = {post.slug: post.display for post in everything}
    sent = {
        (slugs[r.slug], r.channel) for r in records if r.state == "published" and r.slug in slugs
    }
    shown = [preview_post(post, config, social, times) for post in posts]
    # what check warns of in each post too (a curly-quoted title, a link leading nowhere):
    # worked out once for them all (tags are shared across posts)
    at = current_time(config.tz)
    linking = [(p.post, p.page.links) for p in shown if p.post is not None and p.page]
    said = [
        *post_warnings(everything, at, config.site.allow_html, sent),
        *link_warnings(linking, everything, config, at),
    ]
    for preview in shown:
        preview.problems += [w for w in said if w.path == preview.source]
    previews += shown
    previews.sort(key=lambda p: (p.post is None, p.post.date if p.post else None, p.source))
    return previews


def _like(name: str | Path, slugs: Iterable[str]) -> str:
    """ ": did you mean ...?" naming the slugs that hold what was written (shoulders:
    why-your-shoulders-hold-stress) or are spelled close to it; "" when none is."""
    import difflib

    written = str(name).lower().removesuffix(".md")
    found = [slug for slug in sorted(slugs) if written and written in slug]
    found = found or difflib.get_close_matches(written, sorted(slugs), n=3, cutoff=0.75)
    return f": did you mean {' or '.join(found[:3])}?" if found else ""


def _file_of_slug(slug: str, config: Config) -> Path | None:
    """The one post file named after `slug` (as `publisher new` names it: DATE-SLUG.md)."""
    if not slug or "/" in slug:
        return None
    found = [path for path in post_files(config.posts_dir) if named_after(path.stem, slug)]
    return found[0] if len(found) == 1 else None


def preview_post(
    post: Post,
    config: Config,
    social: SocialRenderer,
    times: dict[tuple[str, str], datetime] | None = None,
) -> PostPreview:
    """Render one post for every channel it goes to (drafts too: that is what staff check)."""
    preview = PostPreview(source=post.display, post=post)
    page, _, problems = plan_post(post, config)
    preview.problems.extend(problems)
    preview.times = {
        channel: (times or {}).get((post.slug, channel)) or planned_time(post, channel, config)
        if channel_enabled(post, channel, config)
        else None
        for channel in CHANNELS
    }
    if page is None:
        return preview
    preview.page = page
    if preview.times["facebook"] is not None:
        preview.facebook = social.facebook(post, page.rendered)
        preview.problems += [
            post.channel_problem(p.message, p.key) for p in preview.facebook.problems
        ]
    if preview.times["instagram"] is not None:
        preview.instagram = social.instagram(post, page.rendered)
        preview.problems += [
            post.channel_problem(p.message, p.key) for p in preview.instagram.problems
        ]
    return preview


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="minutes") if moment else None


def preview_json(preview: PostPreview, config: Config, at: datetime) -> dict[str, Any]:
    """The preview as plain data, for scripts."""
    post = preview.post
    data: dict[str, Any] = {
        "file": preview.source,
        "title": post.title if post else None,
        "slug": post.slug if post else None,
        "status": preview.status(at),
        "url": post_url(config, post) if post else None,
        "times": {channel: _when(moment) for channel, moment in preview.times.items()},
        "problems": [str(p) for p in preview.problems],
        "facebook": None,
        "instagram": None,
    }
    if preview.facebook:
        data["facebook"] = {
            "message": preview.facebook.message,
            "link": preview.facebook.link,
            "characters": preview.facebook.length,
            "characters_max": FACEBOOK_MESSAGE_MAX,
        }
    if preview.instagram:
        ig = preview.instagram
        data["instagram"] = {
            "caption": ig.caption,
            "image_url": ig.image_url,
            "alt_text": ig.alt_text,
            "characters": ig.length,
            "characters_max": INSTAGRAM_CAPTION_MAX,
            "hashtags": len(ig.hashtags),
            "hashtags_max": config.instagram.hashtags_max,
            "mentions": len(ig.mentions),
            "mentions_max": INSTAGRAM_MENTIONS_MAX,
            "shortened": ig.shortened,
            "hashtags_left_out": list(ig.left_out),
        }
    return data


def left_out_why(config: Config) -> str:
    """Why hashtags of a post (its list's, or its text's) were left out of its caption."""
    return (
        f"Instagram takes {config.instagram.hashtags_max} hashtags ([instagram] hashtags_max) "
        f"and {INSTAGRAM_CAPTION_MAX:,} characters: the article's own hashtags come first, "
        "then the post's, its tags, then config.toml's; a hashtag in the article past the "
        "limit stays there as a word, without its #"
    )


def _count(label: str, value: int, limit: int) -> str:
    mark = "ok" if value <= limit else "OVER THE LIMIT"
    return f"{label} {value:,} / {limit:,} ({mark})"


def _boxed(text: str) -> list[str]:
    return ["  │ " + line if line else "  │" for line in text.splitlines()]


# The states of a delivery the preview says beside its time: it did not go as planned.
NEEDS_A_LOOK = frozenset(("missed", "failed", "retry", "waiting", "skipped", "sending"))
# said beside a delivery's time too: one shown, not sent (no token or account yet), which a
# person new to publisher would otherwise take for a post on Facebook
SAID_BESIDE = NEEDS_A_LOOK | {"dry-run"}


def states_needing_a_look(
    deliveries: Iterable[AgendaEntry],
) -> dict[str, dict[str, tuple[str, str]]]:
    """By slug, then channel: the (state, detail) of each delivery that did not go as planned
    (NEEDS_A_LOOK), or was a dry run, for the previews to say beside its time and after the
    post's status."""
    states: dict[str, dict[str, tuple[str, str]]] = {}
    for entry in deliveries:
        if entry.state in SAID_BESIDE:
            states.setdefault(entry.slug, {})[entry.channel] = (entry.label, entry.detail)
    return states


def preview_text(
    preview: PostPreview,
    config: Config,
    at: datetime,
    changed: Sequence[str] = (),
    states: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """The preview as a person reads it in a terminal. `changed`: the channels that got the
    post before it was edited (agenda's "changed since published"). `states`: by channel,
    the ledger's (state, detail) of a delivery that did not go as planned (NEEDS_A_LOOK: missed,
    failed...), said beside its time, and after the status (a post live on the website
    whose Facebook post was missed is not all "published")."""
    post = preview.post
    states = states or {}
    lines = [f"{preview.source}: {post.title if post else '(has problems: see below)'}"]
    if post:
        status = preview.status(at)
        if states:
            words = ", ".join(f"{c.capitalize()} {states[c][0]}" for c in CHANNELS if c in states)
            status += f" ({words}: see below)"
        lines.append(f"  status: {status}")
        if changed:
            they, them = ("it", "it") if len(changed) == 1 else ("they", "them")
            keep = "keeps" if len(changed) == 1 else "keep"
            lines.append(
                f"  edited since it went out: {' and '.join(changed)} {keep} the text {they} "
                f"got; what is shown below for {them} is the new text, which goes nowhere (the "
                "website shows the edit)"
            )
        for channel in CHANNELS:
            moment = preview.times.get(channel)
            when = f"{moment:%a %d %b %Y %H:%M %Z}" if moment else "not sent (off for this post)"
            if channel in states:
                label, detail = states[channel]
                when += f"  {label}: {detail}" if detail else f"  {label}"
            lines.append(f"  {channel:<10} {when}")
    if preview.facebook:
        fb = preview.facebook
        lines += [
            "",
            "  Facebook message: " + _count("characters", fb.length, FACEBOOK_MESSAGE_MAX),
        ]
        lines += _boxed(fb.message)
        lines.append(f"  link: {fb.link}")
    if preview.instagram:
        ig = preview.instagram
        counts = ", ".join(
            [
                _count("characters", ig.length, INSTAGRAM_CAPTION_MAX),
                _count("hashtags", len(ig.hashtags), config.instagram.hashtags_max),
                _count("mentions", len(ig.mentions), INSTAGRAM_MENTIONS_MAX),
            ]
        )
        lines += ["", f"  Instagram caption: {counts}"]
        if ig.shortened:
            lines.append("  (the article was shortened to fit; the full text is on the website)")
        if ig.left_out:
            lines.append(f"  (left out: {' '.join(ig.left_out)}; {left_out_why(config)})")
        lines += _boxed(ig.caption)
        lines.append(f"  image: {ig.image_url or 'none'}")
        lines.append(f"  alt text: {ig.alt_text or 'none'}")
    lines.append("")
    problems = [p for p in preview.problems if not isinstance(p, ContentWarning)]
    warnings = [p for p in preview.problems if isinstance(p, ContentWarning)]
    for heading, found in (("  Problems:", problems), ("  Warnings:", warnings)):
        if found:  # (a warning stops nothing: never under "Problems")
            lines.append(heading)
            lines += [f"  - {p}" for p in found]
    if not preview.problems:
        lines.append("  No problems found.")
    return "\n".join(lines) + "\n"
