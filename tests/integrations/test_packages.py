"""Package checks: SCORM 1.2, 2004 (4th edition, sequencing) and cmi5 zips built here, and
hostile ones (traversal, absolute paths, links, zip bombs, entities, missing files)."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest
from django.core.exceptions import ValidationError

from integrations.packages import inspect_package

SCORM12 = """<?xml version="1.0"?>
<manifest identifier="m" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
 <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
 <organizations default="o"><organization identifier="o"><title>Fire safety</title>
  <item identifier="i1" identifierref="r1"><title>Part one</title></item>
  <item identifier="i2" identifierref="r2"><title>Part two</title></item>
 </organization></organizations>
 <resources>
  <resource identifier="r1" type="webcontent" adlcp:scormtype="sco" href="one/index.html"/>
  <resource identifier="r2" type="webcontent" adlcp:scormtype="sco" href="two/index.html?x=1"/>
  <resource identifier="c" type="webcontent" adlcp:scormtype="asset" href="common.js"/>
 </resources></manifest>"""

SCORM2004 = """<?xml version="1.0"?>
<manifest identifier="m" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
  xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
 <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
 <organizations default="o"><organization identifier="o"><title>First aid</title>
  <item identifier="i1" identifierref="r1"><title>Learn</title></item>
  <item identifier="i2" identifierref="r2"><title>Test</title>
   <imsss:sequencing><imsss:controlMode choice="false" flow="true"/></imsss:sequencing></item>
  <imsss:sequencing><imsss:controlMode flow="true"/></imsss:sequencing>
 </organization></organizations>
 <resources>
  <resource identifier="r1" type="webcontent" adlcp:scormType="sco" xml:base="learn/"
   href="a.html"/>
  <resource identifier="r2" type="webcontent" adlcp:scormType="sco" href="test.html"/>
 </resources></manifest>"""

CMI5 = """<?xml version="1.0"?>
<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd">
 <course id="https://lyceum.test/c/1">
  <title><langstring lang="en">Ladders</langstring></title></course>
 <au id="https://lyceum.test/au/1" moveOn="CompletedAndPassed">
  <title><langstring lang="en">Ladder quiz</langstring></title>
  <url>au/index.html</url></au>
</courseStructure>"""


def make_zip(files: dict[str, bytes | str], *, link: str | None = None, level=None) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in files.items():
            z.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
    buf.seek(0)
    return buf


def test_scorm12_with_two_scos():
    info = inspect_package(
        make_zip(
            {
                "imsmanifest.xml": SCORM12,
                "one/index.html": "1",
                "two/index.html": "2",
                "common.js": "",
            }
        )
    )
    assert info.kind == "scorm12" and info.title == "Fire safety"
    assert [(s.identifier, s.href) for s in info.scos] == [
        ("i1", "one/index.html"),
        ("i2", "two/index.html"),
    ]


def test_scorm2004_with_sequencing_and_xml_base():
    info = inspect_package(
        make_zip({"imsmanifest.xml": SCORM2004, "learn/a.html": "", "test.html": ""})
    )
    assert info.kind == "scorm2004" and info.edition == "2004 4th Edition"
    assert info.sequencing and [s.href for s in info.scos] == ["learn/a.html", "test.html"]


def test_cmi5():
    info = inspect_package(make_zip({"cmi5.xml": CMI5, "au/index.html": ""}))
    assert info.kind == "cmi5" and info.title == "Ladders"
    assert info.scos[0].title == "Ladder quiz" and info.scos[0].href == "au/index.html"


OK12 = {"imsmanifest.xml": SCORM12, "one/index.html": "1", "two/index.html": "2"}


@pytest.mark.parametrize(
    ("files", "kwargs", "message"),
    [
        ({**OK12, "../evil.html": "x"}, {}, "outside"),
        ({**OK12, "one/../../evil.html": "x"}, {}, "outside"),
        ({**OK12, "/etc/cron.d/x": "x"}, {}, "outside"),
        ({**OK12, "C:/x.html": "x"}, {}, "outside"),
        ({**OK12, "a\\..\\b": "x"}, {}, "outside"),
        (OK12, {"link": "one/link"}, "link"),
        ({**OK12, "zeros.bin": b"\0" * (20 * 1024 * 1024)}, {"level": 9}, "zip bomb"),
        ({"one/index.html": "1"}, {}, "No imsmanifest.xml"),
        ({"imsmanifest.xml": SCORM12, "one/index.html": "1"}, {}, "lacks"),
        ({"imsmanifest.xml": "<manifest><oops"}, {}, "not valid XML"),
        (
            {
                "imsmanifest.xml": '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaa">'
                '<!ENTITY b "&a;&a;&a;&a;">]><manifest>&b;</manifest>'
            },
            {},
            "DTD",
        ),
        ({"imsmanifest.xml": SCORM12.replace("1.2", "9.9")}, {}, "Unknown SCORM"),
        ({"cmi5.xml": CMI5.replace("au/index.html", "../../x.html")}, {}, "lacks"),
    ],
)
def test_hostile_packages_are_refused(files, kwargs, message):
    with pytest.raises(ValidationError) as caught:
        inspect_package(make_zip(files, **kwargs))
    assert message in " ".join(caught.value.messages)


def test_not_a_zip_too_big_too_many(settings):
    with pytest.raises(ValidationError, match="not a zip"):
        inspect_package(io.BytesIO(b"<html>hello</html>"))
    with pytest.raises(ValidationError, match="too large"):
        inspect_package(make_zip(OK12), size=10**10)
    settings.INTEGRATIONS_PACKAGE_MAX_ENTRIES = 2
    with pytest.raises(ValidationError, match="too many"):
        inspect_package(make_zip(OK12))
