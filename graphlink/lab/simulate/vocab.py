"""Word lists used to fill prompt templates and name things.

Plain data: a general vocabulary (roughly ordered by frequency, so a Zipf
draw over it looks like natural text), slot fillers for templates, email
domains and user-agent strings.
"""

from __future__ import annotations

__all__ = [
    "WORDS",
    "SLOT_WORDS",
    "FREE_MAIL_DOMAINS",
    "DISPOSABLE_DOMAINS",
    "POPULAR_USER_AGENTS",
    "SCRIPTED_USER_AGENTS",
    "COMPANY_STEMS",
    "COMPANY_SUFFIXES",
    "COMPANY_TLDS",
    "UNIVERSITY_PLACES",
    "UNIVERSITY_PATTERNS",
    "TIME_ZONES",
    "HOUR_PROFILE",
]

WORDS: list[str] = """
the to and of a in is it you that for on this with my be are not have can
as your do if but or what we from all so at by me will just an more about
how one would like they there some out up when which get use need time make
data file code work using new want know good also only then first way any
our other into could should help these than list value table error function
please example thanks text each because well table user output input number
two any same after different result model name line test page string set
problem change used run still back create step based case does python list
query type report check simple own find update while find without class
issue note show version email project order system read write process image
current return between business write give method both key content script
many add where field column format question customer review server state
team date point long start object response support api program build source
thing look sure under free through end since last next error open call
describe real single small large quick easy best short clear full fast main
local remote public private basic final right left high low early late
today week month year hour minute morning evening night weekend holiday
plan goal idea draft outline summary list title section paragraph sentence
word letter note message comment reply request answer reason detail part
school class course lesson exam homework teacher student grade study notes
office meeting manager client invoice budget cost price sale market product
service account payment order shipping delivery return refund policy rule
health doctor diet sleep exercise recipe dinner lunch breakfast coffee tea
travel trip flight hotel city country map route train bus car bike walk
music song movie book story poem game sport team match score player coach
garden house room kitchen window door wall floor paint light water power
phone laptop screen keyboard mouse printer network router cable battery
database backend frontend service cloud cluster container deploy release
branch commit merge review pipeline build test bug fix patch log trace
metric alert dashboard chart graph node edge tree array map loop variable
parameter argument default config option flag setting environment path
folder directory upload download import export parse convert sort filter
group join merge split clean normalize validate compare count sum average
maximum minimum median range random sample estimate forecast trend growth
essay article blog post tweet caption slogan headline abstract cover letter
resume interview career job salary offer skill experience project portfolio
friend family kid parent birthday wedding party gift card invitation
weather rain snow sun wind cold warm spring summer autumn winter season
history science math physics chemistry biology economics law art design
language english spanish french german japanese chinese translate grammar
improve rewrite shorten expand polish proofread simplify explain clarify
quickly carefully briefly formally casually politely clearly simply exactly
""".split()

SLOT_WORDS: dict[str, list[str]] = {
    "task": [
        "a cover letter", "my resume", "a birthday message", "a travel plan",
        "a weekly meal plan", "a workout routine", "an email to my landlord",
        "a product description", "a blog post outline", "my homework",
        "a budget spreadsheet", "a wedding speech", "a lesson plan",
        "a marketing email", "a bug report", "a project proposal",
    ],
    "thing": [
        "job application", "startup", "small business", "class", "team",
        "website", "thesis", "presentation", "podcast", "newsletter",
        "side project", "garden", "kitchen", "online shop", "youtube channel",
    ],
    "pyfunc": [
        "reads a csv file and returns the average of a column",
        "removes duplicates from a list while keeping order",
        "checks if a string is a palindrome",
        "merges two sorted lists", "parses a date string",
        "downloads a web page and counts the words",
        "flattens a nested dictionary", "validates an email address",
        "retries a http request with exponential backoff",
        "converts celsius to fahrenheit", "groups records by key",
        "finds the longest common prefix", "renames files in a folder",
    ],
    "concept": [
        "recursion", "inflation", "photosynthesis", "a neural network",
        "compound interest", "the stock market", "quantum entanglement",
        "dependency injection", "a hash table", "supply and demand",
        "climate change", "blockchain", "the immune system", "docker",
        "big o notation", "gradient descent", "a mortgage", "kubernetes",
    ],
    "error": [
        "TypeError: 'NoneType' object is not subscriptable",
        "KeyError: 'id'", "ModuleNotFoundError: No module named 'pandas'",
        "IndexError: list index out of range",
        "SyntaxError: unexpected EOF while parsing",
        "ConnectionResetError: [Errno 104] Connection reset by peer",
        "undefined is not a function", "segmentation fault (core dumped)",
        "permission denied (publickey)", "CORS policy blocked the request",
    ],
    "language": [
        "spanish", "french", "german", "japanese", "portuguese", "italian",
        "korean", "dutch", "polish", "turkish", "hindi", "chinese",
    ],
    "subject": [
        "algebra", "geometry", "probability", "physics", "chemistry",
        "number theory", "combinatorics", "calculus", "logic", "statistics",
        "economics", "computer science",
    ],
    "object": [
        "apples", "marbles", "coins", "books", "tickets", "boxes", "cards",
        "pencils", "widgets", "bottles",
    ],
    "name": [
        "Alice", "Bob", "Carlos", "Dana", "Emeka", "Fatima", "Giulia",
        "Hiro", "Ines", "Jonas", "Kwame", "Lena",
    ],
    "lang": ["python", "java", "c++", "rust", "go", "javascript"],
    "dept": [
        "billing", "support", "sales", "legal", "hr", "finance",
        "logistics", "marketing", "compliance", "procurement",
    ],
    "format": ["json", "a markdown table", "csv", "yaml", "bullet points"],
    "tone": ["friendly", "formal", "concise", "neutral", "empathetic"],
}

FREE_MAIL_DOMAINS: list[tuple[str, float]] = [
    ("gmail.com", 0.42), ("outlook.com", 0.12), ("hotmail.com", 0.08),
    ("yahoo.com", 0.08), ("icloud.com", 0.07), ("proton.me", 0.04),
    ("gmx.de", 0.03), ("mail.ru", 0.03), ("qq.com", 0.04),
    ("yandex.ru", 0.02), ("aol.com", 0.02), ("zoho.com", 0.02),
    ("fastmail.com", 0.01), ("web.de", 0.02),
]

DISPOSABLE_DOMAINS: list[str] = [
    "mailinator.com", "guerrillamail.com", "sharklasers.com", "yopmail.com",
    "10minutemail.net", "tempmail.dev", "trashmail.io", "dropmail.me",
    "maildrop.cc", "getnada.com", "mohmal.in", "tmpbox.net",
]

POPULAR_USER_AGENTS: list[tuple[str, float]] = [
    ("python-requests/2.31.0", 0.22), ("openai-python/1.3.0", 0.16),
    ("openai-python/1.12.0", 0.10), ("OpenAI/NodeJS/4.20.1", 0.08),
    ("anthropic-python/0.18.1", 0.07), ("python-httpx/0.25.2", 0.06),
    ("axios/1.6.2", 0.05), ("curl/8.4.0", 0.05), ("langchain/0.1.0", 0.05),
    ("Go-http-client/2.0", 0.03), ("okhttp/4.12.0", 0.03),
    ("python-requests/2.28.1", 0.04), ("node-fetch/1.0", 0.03),
    ("PostmanRuntime/7.36.0", 0.03),
]

SCRIPTED_USER_AGENTS: list[str] = [
    "python-httpx/0.27.0", "aiohttp/3.9.1", "Python-urllib/3.11",
    "Go-http-client/1.1", "okhttp/3.14.9", "Java/17.0.2",
    "python-requests/2.25.1", "libcurl/7.68.0", "Dalvik/2.1.0",
    "reqwest/0.11", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
]

COMPANY_STEMS: list[str] = (
    "acme globex initech umbrella stark wayne tyrell cyberdyne soylent hooli "
    "vandelay wonka oscorp nakatomi massive aperture blackmesa gringotts "
    "monarch pied dunder sterling bluth prestige vehement octan spacely "
    "northwind contoso fabrikam adventure tailspin litware proseware "
    "woodgrove lucerne fourth alpine margie wingtip coho trey humongous"
).split()

COMPANY_SUFFIXES: list[str] = [
    "corp", "labs", "io", "tech", "group", "systems", "data", "ai",
    "works", "soft", "cloud", "hq",
]

COMPANY_TLDS: list[str] = ["com", "io", "net", "de", "co.uk", "fr", "co.jp"]

UNIVERSITY_PLACES: list[str] = (
    "oxford cambridge stanford berkeley toronto mcgill delft leiden uppsala "
    "lund zurich munich heidelberg vienna prague warsaw krakow bologna milan "
    "madrid lisbon porto dublin edinburgh glasgow leeds austin boston chicago "
    "seattle denver atlanta michigan ohio kyoto osaka tokyo seoul busan "
    "sydney melbourne auckland singapore delhi mumbai bangalore"
).split()

#: ``{}`` is replaced by a place name.
UNIVERSITY_PATTERNS: list[str] = [
    "{}.edu", "u{}.edu", "{}.ac.uk", "uni-{}.de", "{}.ac.jp",
    "{}-state.edu", "tech-{}.edu", "{}.edu.au",
]

#: UTC offsets in minutes with population weights (where API users live).
TIME_ZONES: list[tuple[int, float]] = [
    (-480, 0.10), (-420, 0.03), (-360, 0.07), (-300, 0.13), (-180, 0.05),
    (0, 0.08), (60, 0.15), (120, 0.05), (180, 0.04), (330, 0.10),
    (420, 0.02), (480, 0.10), (540, 0.06), (600, 0.02),
]

#: Relative activity by local hour of day: busy in daytime, nearly silent
#: between 01:00 and 06:00.
HOUR_PROFILE: list[float] = [
    0.25, 0.10, 0.05, 0.03, 0.03, 0.05, 0.20, 0.60, 1.30, 2.10, 2.60, 2.70,
    2.40, 2.50, 2.70, 2.70, 2.50, 2.20, 1.90, 1.80, 1.70, 1.50, 1.10, 0.60,
]
