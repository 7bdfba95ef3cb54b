"""The website widget's fixtures: a real bot that allows one clinic origin, and two sites.

`clinic` is the clinic's website (allowed in BOT_CORS_ORIGINS); `elsewhere` is another
website on another origin that is not allowed. Both are on other ports than the bot.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.support.servers import RunningBot, running_bot
from tests.support.widget import WIDGET_CREDENTIALS, Site, clinic_page, running_site


@pytest.fixture(scope="package")
def clinic() -> Iterator[Site]:
    with running_site() as site:
        yield site


@pytest.fixture(scope="package")
def elsewhere() -> Iterator[Site]:
    with running_site() as site:
        yield site


@pytest.fixture(scope="package")
def widget_bot(
    tmp_path_factory: pytest.TempPathFactory, clinic: Site, elsewhere: Site
) -> Iterator[RunningBot]:
    """The real bot with the widget channel, allowing only the clinic's origin."""
    with running_bot(
        tmp_path_factory.mktemp("widget-bot"),
        WIDGET_CREDENTIALS,
        env_extra={"BOT_CORS_ORIGINS": clinic.origin},
        cors_origins=[clinic.origin],
    ) as bot:
        script = f"{bot.url}/widget/widget.js"
        clinic.pages.update(
            {
                "/": clinic_page(script, privacy_url="/privacy"),
                "/other": clinic_page(script, title="Our doctors"),
                "/ar": clinic_page(script, title="العيادة", language="ar"),
            }
        )
        elsewhere.pages["/"] = clinic_page(script, title="Not the clinic")
        yield bot
