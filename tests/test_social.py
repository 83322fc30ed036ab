"""Facebook messages and Instagram captions: golden files, Meta's limits, overrides, checks."""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.build import check_site
from publisher.calendar import planned_time
from publisher.config import Config, load_config
from publisher.content import ChannelOptions, Post, load_posts
from publisher.preview import preview_posts
from publisher.render.markdown import render_markdown
from publisher.render.social import (
    INSTAGRAM_CAPTION_MAX,
    INSTAGRAM_HASHTAGS_MAX,
    INSTAGRAM_MENTIONS_MAX,
    SocialRenderer,
    caption_length,
    collect_hashtags,
    hashtags_in,
    mentions_in,
    normalise_hashtag,
    shorten_text,
)

from .conftest import BASE_CONFIG, REPO, repo_config

GOLDEN = REPO / "tests" / "golden"
NY = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory):
    config = repo_config(tmp_path_factory.mktemp("seed"))
    (post,) = load_posts(config).posts
    return config, post, render_markdown(post.body), SocialRenderer(config)


def test_seed_facebook_message_matches_the_reviewed_golden_file(seed):
    config, post, rendered, social = seed
    fb = social.facebook(post, rendered)
    assert fb.message + "\n" == (GOLDEN / "psoas-back-pain.facebook.txt").read_text()
    assert fb.link == (
        "http://127.0.0.1:8000/posts/psoas-back-pain/"
        "?utm_source=facebook&utm_medium=social&utm_campaign=psoas-back-pain"
    )
    assert fb.problems == ()


def test_seed_instagram_caption_matches_the_reviewed_golden_file(seed):
    config, post, rendered, social = seed
    ig = social.instagram(post, rendered)
    assert ig.caption + "\n" == (GOLDEN / "psoas-back-pain.instagram.txt").read_text()
    assert ig.length <= INSTAGRAM_CAPTION_MAX
    assert ig.shortened
    # Instagram takes 5 hashtags: the post's tags first, then the clinic's, as many as fit
    assert ig.caption.splitlines()[-1] == "#backpain #psoas #massagetherapy #posture #pittsburgh"
    assert ig.left_out == ("#kneadedtranquility",)
    assert "Schedule today · 📞 412-932-5535" in ig.caption
    assert ig.image_url == "http://127.0.0.1:8000/posts/psoas-back-pain/instagram.jpg"
    assert ig.alt_text == "A girl leaning over experiencing back pain"
    assert "**" not in ig.caption and "##" not in ig.caption


def test_footnotes_stay_on_the_website(seed):
    """The social texts drop the markers and leave the notes out: the article's link
    carries them, and the caption's length counts only what is sent."""
    config, post, _, social = seed
    body = (
        "Massage lowers cortisol.[^1] See [the study](https://example.org/s) [^2].\n\n"
        "[^1]: Field T. *Massage therapy research review*, 2016.\n"
        "[^2]: Smith, [Pain](https://example.org/pain), 2020.\n"
    )
    custom = replace(post, body=body, summary=None)
    rendered = render_markdown(body)
    fb = social.facebook(custom, rendered)
    assert fb.message.startswith(
        "Massage lowers cortisol. See the study (https://example.org/s).\n"
    )
    ig = social.instagram(custom, rendered)
    assert "\n\nMassage lowers cortisol. See the study.\n\n" in ig.caption  # after the title
    for sent in (fb.message, ig.caption):
        assert "[1]" not in sent and "[^" not in sent
        assert "Field" not in sent and "Smith" not in sent and "example.org/pain" not in sent
    assert ig.length == caption_length(ig.caption)


def test_plain_text_rules_for_each_network(seed):
    config, post, _, social = seed
    body = "Intro with [our prices](https://clinic.example/prices) and *calm*.\n\n## Steps\n\n1. One\n2. Two\n"
    custom = replace(post, body=body, summary=None)
    rendered = render_markdown(body)
    fb = social.facebook(custom, rendered)
    assert fb.message.startswith("Intro with our prices (https://clinic.example/prices) and calm.")
    ig = social.instagram(custom, rendered)
    assert "Intro with our prices and calm.\n\nSteps\n\n1. One\n2. Two" in ig.caption
    assert "https://clinic.example/prices" not in ig.caption


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("massage therapy", "#massagetherapy"),
        ("#Back-Pain!", "#BackPain"),
        ("  #über ", "#über"),
        ("2024", None),
        ("###", None),
        ("self_care", "#self_care"),
    ],
)
def test_hashtags_are_normalised(raw, expected):
    assert normalise_hashtag(raw) == expected


@pytest.mark.parametrize(
    ("tag", "hashtag"),
    [
        ("योग", "#योग"),  # yoga, in Hindi: its vowel sign
        ("मालिश", "#मालिश"),  # massage, in Hindi: two vowel signs
        ("மசாஜ்", "#மசாஜ்"),  # massage, in Tamil: a vowel sign and a virama
        ("গভীর মাসাজ", "#গভীরমাসাজ"),  # deep massage, in Bengali
        ("นวดแผนไทย", "#นวดแผนไทย"),  # Thai massage
        ("ผู้หญิง", "#ผู้หญิง"),  # women, in Thai: a vowel and a tone mark
        ("Café", "#Café"),
        ("Cafe\u0301", "#Café"),  # the accent typed apart is the one letter
    ],
)
def test_hashtags_keep_the_marks_that_are_letters_of_their_words(tag, hashtag):
    """In Devanagari, Tamil, Bengali or Thai a vowel sign or a virama is part of the word
    (मालिश without them would be मलश): the hashtag keeps them, and a text's hashtag is
    read whole, as Instagram links it."""
    assert normalise_hashtag(tag) == hashtag
    assert hashtags_in(f"Try {hashtag}, or {hashtag}। Then rest.") == [hashtag[1:]] * 2


def test_hashtags_are_deduplicated_case_insensitively_post_first():
    assert collect_hashtags(
        ["Pittsburgh", "back pain"], ["#BackPain", "pittsburgh", "wellness"]
    ) == [
        "#Pittsburgh",
        "#backpain",
        "#wellness",
    ]


def test_shorten_text_cuts_at_sentence_then_word():
    text = "First sentence here. Second sentence is longer than the rest of it."
    assert shorten_text(text, 40) == "First sentence here."
    assert shorten_text("one two three four five six", 14) == "one two three…"
    assert shorten_text("short", 10) == "short"
    assert shorten_text("x" * 50, 10) == ""


def _config() -> Config:
    return Config(root=REPO, path=None)


def _post(title: str, body: str, hashtags: list[str], tags: list[str] = ()) -> Post:
    return Post(
        source=REPO / "posts" / "x.md",
        display="posts/x.md",
        title=title,
        date=datetime(2026, 12, 1, 9, tzinfo=NY),
        slug="x",
        author="A",
        body=body,
        body_line=5,
        image=REPO / "posts" / "images" / "psoas-back-pain.jpg",
        image_alt="alt",
        tags=tuple(tags),
        instagram=ChannelOptions(hashtags=tuple(hashtags)),
    )


# with Devanagari's letters, vowel signs and virama: marks that are letters of the word
words = st.text(alphabet=string.ascii_letters + "éü_" + "मलशयग" + "ािो्", min_size=1, max_size=12)
tokens = st.one_of(
    words,
    words.map(lambda w: "#" + w),
    words.map(lambda w: "@" + w.replace("é", "e").replace("ü", "u")),
    st.sampled_from(
        [
            "**bold**",
            "*it*",
            "[link](https://x.example/a)",
            "\n\n",
            "\n- ",
            "\n1. ",
            "## ",
            "🌿",
            "💆‍♀️",
            ". ",
            "&amp;",
        ]
    ),
)
bodies = st.lists(tokens, max_size=800).map(" ".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.text(min_size=1, max_size=300).filter(lambda t: t.strip()),
    body=bodies,
    hashtags=st.lists(st.text(max_size=30), max_size=60),
    tags=st.lists(words, max_size=10),
)
def test_generated_captions_always_hold_meta_limits(title, body, hashtags, tags):
    config = _config()
    post = _post(title.strip(), body, hashtags, tags)
    rendered = render_markdown(body)
    ig = SocialRenderer(config).instagram(post, rendered)
    fixed_too_long = caption_length(title) > 1500
    if not fixed_too_long:
        assert caption_length(ig.caption) <= INSTAGRAM_CAPTION_MAX
    limit = config.instagram.hashtags_max  # Instagram's 5 now (INSTAGRAM_HASHTAGS_MAX before)
    if len(hashtags_in(title)) <= limit:
        assert len(hashtags_in(ig.caption)) <= limit
    if len(mentions_in(title)) <= INSTAGRAM_MENTIONS_MAX:
        assert len(mentions_in(ig.caption)) <= INSTAGRAM_MENTIONS_MAX
    # Never cut in half: every hashtag in the caption is whole, as written in a source.
    whole = {t.lower() for t in hashtags_in(title) + hashtags_in(rendered.text_instagram)}
    whole |= {
        t.lower().lstrip("#") for t in collect_hashtags(hashtags, tags, config.instagram.hashtags)
    }
    for tag in hashtags_in(ig.caption):
        assert tag.lower() in whole
    # The call to action is always kept.
    assert "Read the full article: link in bio." in ig.caption or fixed_too_long


def test_indic_tags_are_whole_hashtags_in_the_caption_and_said_once():
    """A post tagged in Hindi and Tamil: the caption's hashtags are the words as written;
    the one the article has already is not repeated on the hashtag line, and the counts
    see each whole."""
    config = _config()
    body = "दिन में दो बार #योग करें। Then rest."
    post = _post("Title", body, [], ["योग", "மசாஜ்", "मालिश"])
    ig = SocialRenderer(config).instagram(post, render_markdown(body))
    assert ig.caption.splitlines()[-1] == "#மசாஜ் #मालिश"
    assert "दिन में दो बार #योग करें।" in ig.caption
    assert ig.hashtags == ["योग", "மசாஜ்", "मालिश"] and ig.left_out == ()


def test_instagram_list_gives_way_to_hashtags_in_the_text():
    config = _config()
    assert config.instagram.hashtags_max == 5  # Instagram's limit since 2026
    body = "Stretch with #tag0x, #tag1x and #tag2x every day."
    post = _post("Title", body, [f"extra{i}" for i in range(4)])
    ig = SocialRenderer(config).instagram(post, render_markdown(body))
    assert ig.hashtags == ["tag0x", "tag1x", "tag2x", "extra0", "extra1"]
    assert ig.left_out[:2] == ("#extra2", "#extra3") and not ig.shortened
    # More in the text than Instagram takes: the first 5 stay hashtags, the others stay as
    # words (the article reads the same), and the text is not cut there.
    body = "Good for " + ", ".join(f"#part{i}" for i in range(7)) + ". Breathe out slowly."
    post = _post("Title", body, ["extra"])
    ig = SocialRenderer(config).instagram(post, render_markdown(body))
    assert ig.hashtags == [f"part{i}" for i in range(5)] and not ig.shortened
    assert "#part4, part5, part6. Breathe out slowly." in ig.caption
    assert ig.problems == ()
    wide = replace(config, instagram=replace(config.instagram, hashtags_max=30))
    ig = SocialRenderer(wide).instagram(post, render_markdown(body))
    assert len(ig.hashtags) == 8  # the 7 of the text, then the post's list


def _social_project(make_project):
    project = make_project(base=BASE_CONFIG)
    project.image("images/photo.jpg")
    return project


def test_overrides_replace_the_rendered_texts(make_project):
    project = _social_project(make_project)
    project.post(
        "a.md",
        """
        title: Hips
        date: 2026-12-01 09:00
        image: images/photo.jpg
        image_alt: A hip stretch
        facebook:
          at: 2026-12-02 12:00
          message: |
            Our own words for Facebook.
        instagram:
          caption: |
            Our own caption #hips
        """,
    )
    (preview,) = preview_posts(project.config)
    assert preview.facebook.message == "Our own words for Facebook."
    assert preview.instagram.caption == "Our own caption #hips"
    assert preview.times["facebook"] == datetime(2026, 12, 2, 12, tzinfo=NY)
    assert preview.times["instagram"] == datetime(2026, 12, 1, 12, tzinfo=NY)  # default offset 3h
    assert preview.problems == []


def test_an_own_caption_gets_the_posts_hashtags_unless_it_has_its_own(make_project):
    project = _social_project(make_project)
    front = (
        "title: {slug}\ndate: 2026-12-01 09:00\nimage: images/photo.jpg\nimage_alt: x\n"
        "tags: [neck pain]\ninstagram:\n  hashtags: [shoulders]\n  caption: |\n    {caption}"
    )
    project.post("a.md", front.format(slug="plain", caption="Tight shoulders? Book now."))
    project.post("b.md", front.format(slug="chosen", caption="Tight shoulders? #relax"))
    project.post("c.md", front.format(slug="full", caption="Relax. " * 312))
    by_slug = {p.post.slug: p.instagram for p in preview_posts(project.config)}
    defaults = " ".join(f"#{t}" for t in project.config.instagram.hashtags)
    assert by_slug["plain"].caption == (
        f"Tight shoulders? Book now.\n\n#shoulders #neckpain {defaults}".rstrip()
    )
    assert by_slug["chosen"].caption == "Tight shoulders? #relax"
    # as many as fit in 2,200 characters, whole
    full = by_slug["full"]
    assert caption_length(full.caption) <= INSTAGRAM_CAPTION_MAX and full.problems == ()
    assert full.caption.startswith("Relax. " * 311) and full.caption.endswith("#shoulders")


def test_false_leaves_a_post_off_a_channel(make_project):
    project = _social_project(make_project)
    project.post("a.md", "title: Off\ndate: 2026-12-01\nfacebook: false\ninstagram: false")
    (preview,) = preview_posts(project.config)
    assert preview.facebook is None and preview.instagram is None
    assert preview.times == {
        "website": datetime(2026, 12, 1, tzinfo=NY),
        "facebook": None,
        "instagram": None,
    }
    assert preview.problems == []  # no photo needed when Instagram is off


def test_check_reports_social_problems_at_their_lines(make_project):
    project = _social_project(make_project)
    long_caption = "\n".join("    " + "Relax and breathe deeply. " * 10 for _ in range(10))
    project.post(
        "long.md",
        "title: Long\ndate: 2026-12-01\nimage: images/photo.jpg\nimage_alt: x\n"
        f"instagram:\n  hashtags: [a]\n  caption: |\n{long_caption}",
    )
    project.post("nophoto.md", "title: No photo\ndate: 2026-12-01")
    project.post(
        "badkey.md",
        "title: Bad\ndate: 2026-12-01\ninstagram: false\nfacebook:\n  when: tomorrow\n  at: 2026-02-30",
    )
    problems = [str(p) for p in check_site(project.config)]
    assert (
        problems[0]
        == "posts/badkey.md:6: unknown key 'when' in facebook: the keys it can have are at, message"
    )
    assert problems[1].startswith("posts/badkey.md:7: facebook.at: '2026-02-30' is not a real date")
    assert problems[2].startswith(
        "posts/long.md:8: the Instagram caption has 2,608 characters; Instagram allows 2,200"
    )
    assert "never cut for you" in problems[2]
    assert problems[3] == (
        "posts/nophoto.md:2: Instagram needs a photo: add image: and image_alt:, or write  instagram: false"
    )
    assert len(problems) == 4


def test_channel_settings_in_config(make_project):
    project = make_project(
        """
        [facebook]
        offset = "1d 2h"
        utm_campaign = "blog-{slug}"
        utm_medium = "organic"
        """
    )
    project.post("a.md", "title: A\ndate: 2026-03-07 09:00")
    (preview,) = preview_posts(project.config)
    assert preview.facebook.link.endswith(
        "?utm_source=facebook&utm_medium=organic&utm_campaign=blog-a"
    )
    # Wall-clock offset across the March DST change: 09:00 + 1d 2h is 11:00 local.
    assert preview.times["facebook"] == datetime(2026, 3, 8, 11, tzinfo=NY)
    assert planned_time(preview.post, "instagram", project.config) is None  # off in this config
    project.write_config('[facebook]\noffset = "soon"\n')
    from publisher.exceptions import ConfigError

    with pytest.raises(ConfigError, match=r"\[facebook.offset\] 'soon' is not a duration"):
        load_config(project.config_path)
    project.write_config('[instagram]\nimage_fit = "stretch"\n', base=BASE_CONFIG)
    with pytest.raises(ConfigError, match=r"\[instagram.image_fit\] must be 'pad'"):
        load_config(project.config_path)


def test_the_list_gets_its_room_back_when_the_texts_hashtags_are_cut_off():
    """A long article that ends with many hashtags: shortened, it loses them, and the post's
    tags and the clinic's take their room again instead of being lost too."""
    words = " ".join(f"Stretch slowly and breathe, step {i} of the routine." for i in range(60))
    body = words + "\n\n" + " ".join(f"#tag{i}x" for i in range(28))
    post = _post("Title", body, [], ["a1", "b2", "c3", "d4", "e5"])
    rendered = render_markdown(body)
    ig = SocialRenderer(_config()).instagram(post, rendered)
    assert ig.shortened and "#tag0x" not in ig.caption  # the text's hashtags were cut off
    listed = collect_hashtags([], ["a1", "b2", "c3", "d4", "e5"], _config().instagram.hashtags)
    assert ig.caption.splitlines()[-1] == " ".join(listed)
    assert caption_length(ig.caption) <= INSTAGRAM_CAPTION_MAX
    assert len(hashtags_in(ig.caption)) <= INSTAGRAM_HASHTAGS_MAX


def test_a_caption_of_their_own_with_more_hashtags_than_instagram_takes_is_a_problem(
    make_project,
):
    project = _social_project(make_project)
    project.post(
        "six.md",
        "title: Six\ndate: 2026-12-01 09:00\nimage: images/photo.jpg\nimage_alt: x\n"
        "instagram:\n  caption: Relax #a1 #b2 #c3 #d4 #e5 #f6",
    )
    (problem,) = [str(p) for p in check_site(project.config)]
    assert problem == (
        "posts/six.md:7: the Instagram caption has 6 hashtags; Instagram takes 5 "
        "([instagram] hashtags_max in config.toml): remove some"
    )
    project.write_config("[instagram]\nhashtags_max = 31\n", base=BASE_CONFIG)
    from publisher.exceptions import ConfigError

    with pytest.raises(ConfigError, match=r"\[instagram.hashtags_max\] must be from 0 to 30"):
        load_config(project.config_path)
    project.write_config("[instagram]\nhashtags_max = 6\n", base=BASE_CONFIG)
    assert list(check_site(load_config(project.config_path))) == []
