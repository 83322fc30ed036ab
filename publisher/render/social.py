"""A post as a Facebook link post and as an Instagram caption: pure rendering within Meta's limits."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import jinja2

from publisher.config import Config
from publisher.content import Post, word_view
from publisher.render.markdown import RenderedMarkdown
from publisher.render.templates import render_template

# Meta's limits, in one place.
FACEBOOK_MESSAGE_MAX = 63_206
INSTAGRAM_CAPTION_MAX = 2_200
INSTAGRAM_HASHTAGS_MAX = 30  # the API's own; Instagram takes 5 now ([instagram] hashtags_max)
INSTAGRAM_MENTIONS_MAX = 20

# Read in a text's word_view(): a hashtag runs on through the combining marks of its word
# (#योग, #மசாஜ்), as Instagram links it.
HASHTAG = re.compile(r"(?<![\w&#])#(\w*[^\W\d_]\w*)")
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?)")
_BODY_MARK = "\x00BODY\x00"
_ELLIPSIS = "…"


def caption_length(text: str) -> int:
    """Length as Meta counts it, erring high: UTF-16 code units (an emoji can count 2 or more)."""
    return len(text.encode("utf-16-le")) // 2


def hashtags_in(text: str) -> list[str]:
    """The hashtags a text contains, as Instagram would link them."""
    return [text[found.start(1) : found.end(1)] for found in HASHTAG.finditer(word_view(text))]


def mentions_in(text: str) -> list[str]:
    """The @-mentions a text contains."""
    return MENTION.findall(text)


def normalise_hashtag(raw: str) -> str | None:
    """'#Back Pain!' -> '#BackPain'; None when nothing usable is left (or only digits)."""
    text = unicodedata.normalize("NFC", str(raw)).strip().lstrip("#")
    kept: list[str] = []
    joined = False  # whether the character before was kept: a mark goes with its letter
    for char, read in zip(text, word_view(text), strict=True):
        joined = char.isalnum() or char == "_" or (read == "_" and joined)
        if joined:
            kept.append(char)
    word = "".join(kept)
    if not word or not any(ch.isalpha() for ch in word):
        return None
    return "#" + word


def collect_hashtags(*sources: tuple[str, ...] | list[str]) -> list[str]:
    """Hashtags from several lists, normalised, de-duplicated case-insensitively, in order."""
    seen: set[str] = set()
    tags: list[str] = []
    for source in sources:
        for raw in source:
            tag = normalise_hashtag(raw)
            if tag and tag.lower() not in seen:
                seen.add(tag.lower())
                tags.append(tag)
    return tags


def shorten_text(text: str, budget: int) -> str:
    """Cut text to `budget` (as Meta counts) at a sentence end, else a word boundary, with '…'."""
    if caption_length(text) <= budget:
        return text
    if budget <= 1:
        return ""
    room = budget - 1
    # Walk code points so that no surrogate pair or combined character is cut in half.
    cut, used = 0, 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > room:
            break
        cut = index + 1
    head = text[:cut]
    sentence = max(head.rfind(". "), head.rfind("! "), head.rfind("? "), head.rfind(".\n"))
    if sentence >= room // 2:
        return head[: sentence + 1].rstrip()
    paragraph = head.rfind("\n\n")
    if paragraph >= room // 2:
        return head[:paragraph].rstrip()
    at_boundary = cut < len(text) and text[cut].isspace()
    space = max(head.rfind(" "), head.rfind("\n"))
    if not at_boundary:
        if space <= 0:
            return ""  # one unbroken word longer than the budget: leave it out, never cut it
        head = head[:space]
    return head.rstrip(" ,;:–—-\n") + _ELLIPSIS


def _trim_to_counts(body: str, hashtag_room: int, mention_room: int) -> str:
    """The body within the count limits: its hashtags past their room lose their '#' (the
    words stay, as the article has them), and it is shortened before the first @-mention
    past its room. A room below 0 (the list alone is too long) is none."""
    found = list(HASHTAG.finditer(word_view(body)))[max(hashtag_room, 0) :]
    if found:
        kept, done = [], 0
        for tag in found:
            kept.append(body[done : tag.start()])
            done = tag.start() + 1  # past the '#'
        body = "".join(kept) + body[done:]
    cut = len(body)
    mentions = list(MENTION.finditer(body))
    if len(mentions) > max(mention_room, 0):
        cut = mentions[max(mention_room, 0)].start()
    if cut == len(body):
        return body
    # A hashtag or mention starts at a word boundary, so cutting there never splits a word.
    return body[:cut].rstrip(" ,;:–—-\n") + _ELLIPSIS


@dataclass(frozen=True)
class SocialProblem:
    """Something that stops a social post from going out, with the front-matter key to blame."""

    message: str
    key: str | None = None


@dataclass(frozen=True)
class FacebookPost:
    """What goes to POST /{page-id}/feed."""

    message: str
    link: str
    problems: tuple[SocialProblem, ...] = ()

    @property
    def length(self) -> int:
        """Message length as Meta counts it."""
        return caption_length(self.message)


@dataclass(frozen=True)
class InstagramPost:
    """What goes to POST /{ig-user-id}/media."""

    caption: str
    image_url: str | None
    alt_text: str
    problems: tuple[SocialProblem, ...] = ()
    shortened: bool = False
    # Hashtags that are not in the caption for Instagram's limits: the text's own past the
    # limit (left as words), then the list's (its own, its tags, the clinic's) that gave way,
    # so that the preview can say which.
    left_out: tuple[str, ...] = ()

    @property
    def length(self) -> int:
        """Caption length as Meta counts it."""
        return caption_length(self.caption)

    @property
    def hashtags(self) -> list[str]:
        """The caption's hashtags."""
        return hashtags_in(self.caption)

    @property
    def mentions(self) -> list[str]:
        """The caption's @-mentions."""
        return mentions_in(self.caption)


def add_utm(url: str, source: str, medium: str, campaign: str) -> str:
    """The URL with utm_source, utm_medium and utm_campaign added to its query."""
    parts = urlsplit(url)
    params = {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign}
    query = "&".join(
        q for q in (parts.query, urlencode({k: v for k, v in params.items() if v})) if q
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def post_url(config: Config, post: Post) -> str:
    """The article's public address."""
    return f"{config.base_url}/posts/{post.slug}/"


def instagram_image_url(config: Config, post: Post) -> str:
    """Where the Instagram-ready copy of the post's image is published."""
    return f"{config.base_url}/posts/{post.slug}/instagram.jpg"


class SocialRenderer:
    """Renders social posts with the staff-editable templates in templates/social/."""

    def __init__(self, config: Config, templates_dir: Path | None = None):
        self.config = config
        folder = self.folder = (templates_dir or config.templates_dir) / "social"
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(folder)),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def _context(self, post: Post, rendered: RenderedMarkdown, channel: str) -> dict[str, object]:
        if not rendered.for_social:
            raise ValueError("the post was rendered for its page alone: render it with social=True")
        first = (
            rendered.first_paragraph_facebook if channel == "facebook" else rendered.first_paragraph
        )
        settings = self.config.channel(channel)
        url = post_url(self.config, post)
        link = url
        if settings.utm:
            campaign = settings.utm_campaign.replace("{slug}", post.slug)
            link = add_utm(url, settings.utm_source, settings.utm_medium, campaign)
        return {
            "post": post,
            "title": post.title,
            "summary": post.summary or first,
            "url": url,
            "link": link,
            "business": self.config.business,
            "site": self.config.site,
        }

    def _render(self, template: str, context: dict[str, object]) -> str:
        """One social template; a mistake in it is a TemplateError naming its file and line."""
        return render_template(self.env, self.folder, self.config.display_path, template, context)

    def facebook(self, post: Post, rendered: RenderedMarkdown) -> FacebookPost:
        """The Facebook link post: a teaser message and the article's link with UTM tags."""
        context = self._context(post, rendered, "facebook")
        problems: list[SocialProblem] = []
        if post.facebook.text is not None:
            message = post.facebook.text
            key = "facebook.message"
        else:
            context["body"] = rendered.text_facebook
            message = _tidy(self._render("facebook.txt.j2", context))
            key = None
        if caption_length(message) > FACEBOOK_MESSAGE_MAX:
            problems.append(
                SocialProblem(
                    f"the Facebook message has {caption_length(message):,} characters; "
                    f"Facebook allows {FACEBOOK_MESSAGE_MAX:,}: shorten it",
                    key,
                )
            )
        if not message.strip():
            problems.append(SocialProblem("the Facebook message is empty", key))
        return FacebookPost(message=message, link=str(context["link"]), problems=tuple(problems))

    def instagram(self, post: Post, rendered: RenderedMarkdown) -> InstagramPost:
        """The Instagram caption, within Meta's limits, with the call to action and hashtags kept."""
        settings = self.config.instagram
        context = self._context(post, rendered, "instagram")
        problems: list[SocialProblem] = []
        image_url = instagram_image_url(self.config, post) if post.image else None
        if post.image is None:
            problems.append(
                SocialProblem(
                    "Instagram needs a photo: add image: and image_alt:, or write  instagram: false",
                    # at the empty image: line where there is one (a new post's)
                    next((key for key in ("instagram", "image") if key in post.lines), "title"),
                )
            )
        tags = collect_hashtags(post.instagram.hashtags, post.tags, settings.hashtags)
        limit = settings.hashtags_max
        if post.instagram.text is not None:
            caption, left_out = _with_hashtags(post.instagram.text, tags, limit)
            problems.extend(_caption_problems(caption, "instagram.caption", limit))
            return InstagramPost(
                caption, image_url, post.image_alt or "", tuple(problems), left_out=left_out
            )

        context["body"] = _BODY_MARK
        # The hashtag list gives way to hashtags the staff wrote in the text itself, and
        # leaves out those the text has already (a second #Pittsburgh would take a place).
        body_text = rendered.text_instagram
        in_text = {tag.lower() for tag in hashtags_in(body_text)}
        tags = [tag for tag in tags if tag[1:].lower() not in in_text]
        given_up: list[str] = []

        def fit(tags: list[str]) -> tuple[str, str, int]:
            """(the caption's template text, the text shortened to fit beside it, the
            template's hashtags) with these hashtags on the list."""
            context["hashtags"] = tags
            draft = _tidy(self._render("instagram.txt.j2", context))
            fixed = draft.replace(_BODY_MARK, "")
            fixed_tags = len(hashtags_in(fixed))
            body = shorten_text(body_text, INSTAGRAM_CAPTION_MAX - caption_length(fixed))
            body = _trim_to_counts(
                body,
                limit - fixed_tags,
                INSTAGRAM_MENTIONS_MAX - len(mentions_in(fixed)),
            )
            return draft, body, fixed_tags

        draft, body, fixed_tags = fit(tags)
        while tags and fixed_tags + len(hashtags_in(body_text)) > limit:
            given_up.append(tags.pop())
            draft, body, fixed_tags = fit(tags)
        # The text's own hashtags cut off with its end (a long article) leave their room to
        # the list again: the post's tags and the clinic's are not lost for nothing.
        while given_up and fixed_tags + len(hashtags_in(body)) < limit:
            more = fit([*tags, given_up[-1]])
            if more[2] + len(hashtags_in(more[1])) > limit:
                break
            tags.append(given_up.pop())
            draft, body, fixed_tags = more
        caption = _tidy(draft.replace(_BODY_MARK, body))
        problems.extend(_caption_problems(caption, None, limit))
        # Left out: the text's own hashtags that lost their '#' (or went with its end), then
        # the list's that gave way; never one that is in the caption.
        seen = {tag.lower() for tag in hashtags_in(caption)}
        left_out: list[str] = []
        for tag in [f"#{t}" for t in hashtags_in(body_text)] + given_up[::-1]:
            if tag[1:].lower() not in seen:
                seen.add(tag[1:].lower())
                left_out.append(tag)
        return InstagramPost(
            caption,
            image_url,
            post.image_alt or "",
            tuple(problems),
            # (a hashtag of the text past the limit loses only its '#': not shortened)
            shortened=body.replace("#", "") != body_text.replace("#", ""),
            left_out=tuple(left_out),
        )


def _with_hashtags(caption: str, tags: list[str], limit: int) -> tuple[str, tuple[str, ...]]:
    """A caption the staff wrote, with the post's hashtags (its own, its tags, the
    defaults) on a last line, as many as fit Meta's limits. A caption that has hashtags
    of its own is left as it is: they chose them. Also the hashtags that did not fit."""
    if hashtags_in(caption):
        return caption, ()
    room = limit
    while tags and room > 0:
        line = " ".join(tags[:room])
        with_tags = f"{caption}\n\n{line}"
        if caption_length(with_tags) <= INSTAGRAM_CAPTION_MAX:
            return with_tags, tuple(tags[room:])
        room = min(room, len(tags)) - 1
    return caption, tuple(tags)


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, no blank start or end."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _caption_problems(caption: str, key: str | None, limit: int) -> list[SocialProblem]:
    problems = []
    where = "the caption: shorten it" if key else "the caption template's fixed text"
    if caption_length(caption) > INSTAGRAM_CAPTION_MAX:
        problems.append(
            SocialProblem(
                f"the Instagram caption has {caption_length(caption):,} characters; Instagram "
                f"allows {INSTAGRAM_CAPTION_MAX:,} ({where}; it is never cut for you)",
                key,
            )
        )
    if len(hashtags_in(caption)) > limit:
        problems.append(
            SocialProblem(
                f"the Instagram caption has {len(hashtags_in(caption))} hashtags; Instagram "
                f"takes {limit} ([instagram] hashtags_max in config.toml): remove some",
                key,
            )
        )
    if len(mentions_in(caption)) > INSTAGRAM_MENTIONS_MAX:
        problems.append(
            SocialProblem(
                f"the Instagram caption has {len(mentions_in(caption))} @-mentions; Instagram "
                f"allows {INSTAGRAM_MENTIONS_MAX}: remove some",
                key,
            )
        )
    return problems


def social_problems(
    post: Post,
    rendered: RenderedMarkdown,
    config: Config,
    renderer: SocialRenderer,
    sent: Collection[str] = (),
) -> list[SocialProblem]:
    """What would stop the post's Facebook or Instagram delivery, for the channels it goes
    to and has not gone to already (`sent`: a photo taken out after the Instagram post went
    out stops nothing)."""
    problems: list[SocialProblem] = []
    if config.facebook.enabled and post.facebook.enabled and "facebook" not in sent:
        problems.extend(renderer.facebook(post, rendered).problems)
    if config.instagram.enabled and post.instagram.enabled and "instagram" not in sent:
        problems.extend(renderer.instagram(post, rendered).problems)
    return problems


def delivery_payload(
    post: Post, channel: str, rendered: RenderedMarkdown, renderer: SocialRenderer
) -> tuple[dict[str, str | None], list[SocialProblem]]:
    """Exactly what a social delivery sends (Graph API fields), and what stops it."""
    if channel == "facebook":
        fb = renderer.facebook(post, rendered)
        return {"message": fb.message, "link": fb.link}, list(fb.problems)
    ig = renderer.instagram(post, rendered)
    return {"caption": ig.caption, "image_url": ig.image_url, "alt_text": ig.alt_text}, list(
        ig.problems
    )


def payload_hash(payload: dict[str, str | None]) -> str:
    """The hash of what is sent, to notice a post edited after it went out."""
    import hashlib
    import json

    text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
