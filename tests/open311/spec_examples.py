"""The GeoReport v2 specification's own example documents,
copied as they stand there; the tests compare our answers' field sets and element names with
them. Only one change: the spec's JSON examples write `"service_code":001` (not valid JSON),
here `"001"`.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

# The spec's example: GET services.xml
SERVICES_XML = """<?xml version="1.0" encoding="utf-8"?>
<services>
    <service>
        <service_code>001</service_code>
        <service_name>Cans left out 24x7</service_name>
        <description>Garbage or recycling cans that have been left out for more than 24 hours after collection. Violators will be cited.</description>
        <metadata>true</metadata>
        <type>realtime</type>
        <keywords>lorem, ipsum, dolor</keywords>
        <group>sanitation</group>
    </service>
    <service>
        <service_code>002</service_code>
        <metadata>true</metadata>
        <type>realtime</type>
        <keywords>lorem, ipsum, dolor</keywords>
        <group>street</group>
        <service_name>Construction plate shifted</service_name>
        <description>Metal construction plate covering the street or sidewalk has been moved.</description>
    </service>
</services>"""

# The spec's example: GET services.json
SERVICES_JSON = """[
  {
    "service_code":"001",
    "service_name":"Cans left out 24x7",
    "description":"Garbage or recycling cans that have been left out for more than 24 hours after collection. Violators will be cited.",
    "metadata":true,
    "type":"realtime",
    "keywords":"lorem, ipsum, dolor",
    "group":"sanitation"
  }
]"""

# The spec's example: GET services/{service_code}.xml (a service definition)
SERVICE_DEFINITION_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_definition>
  <service_code>DMV66</service_code>
  <attributes>
    <attribute>
      <variable>true</variable>
      <code>WHISHETN</code>
      <datatype>singlevaluelist</datatype>
      <required>true</required>
      <datatype_description></datatype_description>
      <order>1</order>
      <description>What is the ticket/tag/DL number?</description>
      <values>
        <value>
          <key>123</key>
          <name>Ford</name>
        </value>
        <value>
          <key>124</key>
          <name>Chrysler</name>
        </value>
      </values>
    </attribute>
  </attributes>
</service_definition>"""

# The spec's example: GET services/{service_code}.json
SERVICE_DEFINITION_JSON = """{
  "service_code":"DMV66",
  "attributes":[
    {
      "variable":true,
      "code":"WHISHETN",
      "datatype":"singlevaluelist",
      "required":true,
      "datatype_description":null,
      "order":1,
      "description":"What is the ticket/tag/DL number?",
      "values":[
        {
          "key":123,
          "name":"Ford"
        },
        {
          "key":124,
          "name":"Chrysler"
        }
      ]
    }
  ]
}"""

# The spec's example: the answer to POST requests.json
POST_JSON = """[{"service_request_id":293944,"service_notice":"The City will inspect and require the responsible party to correct within 24 hours and/or issue a Correction Notice or Notice of Violation of the Public Works Code","account_id":null}]"""

# The spec's example: the answer to POST requests.xml
POST_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_requests>
	<request>
		<service_request_id>293944</service_request_id>
		<service_notice>The City will inspect and require the responsible party to correct within 24 hours and/or issue a Correction Notice or Notice of Violation of the Public Works Code</service_notice>
		<account_id/>
	</request>
</service_requests>"""

# The spec's example: GET requests.xml (and requests/{id}.xml, the same document with one request)
REQUESTS_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_requests>
	<request>
		<service_request_id>638344</service_request_id>
		<status>closed</status>
		<status_notes>Duplicate request.</status_notes>
		<service_name>Sidewalk and Curb Issues</service_name>
		<service_code>006</service_code>
		<description></description>
		<agency_responsible></agency_responsible>
		<service_notice></service_notice>
		<requested_datetime>2010-04-14T06:37:38-08:00</requested_datetime>
		<updated_datetime>2010-04-14T15:37:38-08:00</updated_datetime>
		<expected_datetime>2010-04-15T06:37:38-08:00</expected_datetime>
		<address>8TH AVE and JUDAH ST</address>
		<address_id>545483</address_id>
		<zipcode>94122</zipcode>
		<lat>37.762221815</lat>
		<long>-122.4651145</long>
		<media_url>http://city.gov.s3.amazonaws.com/requests/media/638344.jpg</media_url>
	</request>
</service_requests>"""

# The spec's example: GET requests.json
REQUESTS_JSON = """[
  {
    "service_request_id":638344,
    "status":"closed",
    "status_notes":"Duplicate request.",
    "service_name":"Sidewalk and Curb Issues",
    "service_code":"006",
    "description":null,
    "agency_responsible":null,
    "service_notice":null,
    "requested_datetime":"2010-04-14T06:37:38-08:00",
    "updated_datetime":"2010-04-14T15:37:38-08:00",
    "expected_datetime":"2010-04-15T06:37:38-08:00",
    "address":"8TH AVE and JUDAH ST",
    "address_id":"545483",
    "zipcode":"94122",
    "lat":37.762221815,
    "long":-122.4651145,
    "media_url":"http://city.gov.s3.amazonaws.com/requests/media/638344.jpg"
  }
]"""

# The spec's example: an error answer
ERRORS_XML = """<?xml version="1.0" encoding="utf-8"?>
<errors>
	<error>
		<code>403</code>
		<description>Invalid api_key received -- can't proceed with create_request.</description>
	</error>
</errors>"""
ERRORS_JSON = """[{"code":403,"description":"Invalid api_key received -- can't proceed with create_request."}]"""


def xml_shape(document: str | bytes) -> tuple[str, str, set[str]]:
    """(root element, item element, the fields of the first item)."""
    if isinstance(document, str):
        document = document.encode()
    root = ET.fromstring(document)
    return root.tag, root[0].tag, {child.tag for child in root[0]}


def xml_tree(document: str | bytes):
    """Every element's path of tags (root/child/…), once each, for nested documents."""
    if isinstance(document, str):
        document = document.encode()
    paths: set[str] = set()

    def walk(element, prefix):
        path = f"{prefix}/{element.tag}" if prefix else element.tag
        paths.add(path)
        for child in element:
            walk(child, path)

    walk(ET.fromstring(document), "")
    return paths


def json_fields(document: str | bytes) -> set[str]:
    return set(json.loads(document)[0])
