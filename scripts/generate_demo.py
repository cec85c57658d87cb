"""Generate the quickstart's demo data from hand-written templates (deterministic, seeded).

Every template is one arithmetic word problem written by this project in the ten math
languages; row i of the evaluation set is the same problem (names, objects, numbers) in every
language, with its integer answer. The translation pairs use the same templates with other
draws, plus short statements, and never repeat an evaluation question.

    python scripts/generate_demo.py            # rewrite harness/demo/{math,translation}
    python scripts/generate_demo.py --out DIR  # write elsewhere (the tests compare the two)

Placeholders: `{a}` `{b}` `{c}` numbers; `{N}` `{N2}` names (`{Ng}` `{N2g}`: genitive, used in
bn and ru; `{il}` `{ils}`: French pronouns); object fields `{o}` (plural or bare noun), `{one}`
(one item), `{q}` (es "Cuántos/as", sw "how many" with its noun-class agreement), `{e}` (es
adjective ending -os/-as), `{red}` `{yel}` (sw colours agreeing with the noun class), `{cl}` (th, ja,
zh classifier), `{g}` (bn genitive), `{f}` (ru "one|few|many" forms) and `{m}` (ru genitive
plural). `{a:x|y|z}` writes the number with the Russian noun form that agrees with it.
"""

from __future__ import annotations

import argparse
import random
import string
from pathlib import Path

from harness.demo import DEMO_ROOT
from harness.languages import MATH_LANGUAGES

SEED = 20250107
N_PROBLEMS = 42
N_PAIRS = 60
N_EASY = 24
"""The first N_EASY evaluation rows are one-step additions of two small numbers, worded as
SmolLM2-135M-Instruct reads them best in English: two coloured groups (37 of 48 right in a trial,
greedy, chat template) and two people's items (25 of 48), against 6 of 24 for "buys more". The
quickstart evaluates these; the other rows cycle through every template."""
EASY_DRAWS = {
    "colors": lambda r: {"a": r.randint(2, 9), "b": r.randint(2, 9)},
    "together": lambda r: {"a": r.randint(2, 9), "b": r.randint(2, 9)},
}

# latin (en de fr es sw), female?, bn (nom, gen), th, ja, zh, ru (nom, gen)
NAMES = [
    ("Amina", True, "আমিনা", "আমিনার", "อามีนา", "アミナ", "阿米娜", "Амина", "Амины"),
    ("Carlos", False, "কার্লোস", "কার্লোসের", "คาร์ลอส", "カルロス", "卡洛斯", "Карлос", "Карлоса"),
    ("Yuki", True, "ইউকি", "ইউকির", "ยูกิ", "ユキ", "由纪", "Юки", "Юки"),
    ("Ravi", False, "রবি", "রবির", "ราวี", "ラヴィ", "拉维", "Рави", "Рави"),
    ("Lena", True, "লেনা", "লেনার", "ลีนา", "レナ", "莉娜", "Лена", "Лены"),
    ("Omar", False, "ওমর", "ওমরের", "โอมาร์", "オマル", "奥马尔", "Омар", "Омара"),
    ("Sofia", True, "সোফিয়া", "সোফিয়ার", "โซเฟีย", "ソフィア", "索菲亚", "София", "Софии"),
    ("Daniel", False, "ড্যানিয়েল", "ড্যানিয়েলের", "แดเนียล", "ダニエル", "丹尼尔", "Даниэль", "Даниэля"),
    ("Juma", False, "জুমা", "জুমার", "จูมา", "ジュマ", "朱马", "Джума", "Джумы"),
    ("Anna", True, "আনা", "আনার", "แอนนา", "アンナ", "安娜", "Анна", "Анны"),
    ("Tom", False, "টম", "টমের", "ทอม", "トム", "汤姆", "Том", "Тома"),
    ("Pedro", False, "পেদ্রো", "পেদ্রোর", "เปโดร", "ペドロ", "佩德罗", "Педро", "Педро"),
]

OBJECTS = [
    {
        "en": {"o": "apples", "one": "one apple"},
        "de": {"o": "Äpfel", "one": "ein Apfel"},
        "fr": {"o": "pommes", "one": "une pomme"},
        "es": {"o": "manzanas", "one": "una manzana", "q": "Cuántas", "e": "as"},
        "sw": {"o": "matufaha", "one": "tufaha moja", "q": "mangapi", "red": "mekundu", "yel": "ya njano"},
        "ru": {"o": "яблоки", "one": "одно яблоко", "f": "яблоко|яблока|яблок"},
        "bn": {"o": "আপেল", "g": "আপেলের"},
        "th": {"o": "แอปเปิล", "cl": "ผล"},
        "ja": {"o": "りんご", "cl": "個"},
        "zh": {"o": "苹果", "cl": "个"},
    },
    {
        "en": {"o": "pencils", "one": "one pencil"},
        "de": {"o": "Bleistifte", "one": "ein Bleistift"},
        "fr": {"o": "crayons", "one": "un crayon"},
        "es": {"o": "lápices", "one": "un lápiz", "q": "Cuántos", "e": "os"},
        "sw": {"o": "penseli", "one": "penseli moja", "q": "ngapi", "red": "nyekundu", "yel": "za njano"},
        "ru": {"o": "карандаши", "one": "один карандаш", "f": "карандаш|карандаша|карандашей"},
        "bn": {"o": "পেন্সিল", "g": "পেন্সিলের"},
        "th": {"o": "ดินสอ", "cl": "แท่ง"},
        "ja": {"o": "鉛筆", "cl": "本"},
        "zh": {"o": "铅笔", "cl": "支"},
    },
    {
        "en": {"o": "balls", "one": "one ball"},
        "de": {"o": "Bälle", "one": "ein Ball"},
        "fr": {"o": "ballons", "one": "un ballon"},
        "es": {"o": "pelotas", "one": "una pelota", "q": "Cuántas", "e": "as"},
        "sw": {"o": "mipira", "one": "mpira mmoja", "q": "mingapi", "red": "myekundu", "yel": "ya njano"},
        "ru": {"o": "мячи", "one": "один мяч", "f": "мяч|мяча|мячей"},
        "bn": {"o": "বল", "g": "বলের"},
        "th": {"o": "ลูกบอล", "cl": "ลูก"},
        "ja": {"o": "ボール", "cl": "個"},
        "zh": {"o": "球", "cl": "个"},
    },
    {
        "en": {"o": "candies", "one": "one candy"},
        "de": {"o": "Bonbons", "one": "ein Bonbon"},
        "fr": {"o": "bonbons", "one": "un bonbon"},
        "es": {"o": "caramelos", "one": "un caramelo", "q": "Cuántos", "e": "os"},
        "sw": {"o": "pipi", "one": "pipi moja", "q": "ngapi", "red": "nyekundu", "yel": "za njano"},
        "ru": {"o": "леденцы", "one": "один леденец", "f": "леденец|леденца|леденцов"},
        "bn": {"o": "লজেন্স", "g": "লজেন্সের"},
        "th": {"o": "ลูกอม", "cl": "เม็ด"},
        "ja": {"o": "あめ", "cl": "個"},
        "zh": {"o": "糖果", "cl": "颗"},
    },
    {
        "en": {"o": "cookies", "one": "one cookie"},
        "de": {"o": "Kekse", "one": "ein Keks"},
        "fr": {"o": "biscuits", "one": "un biscuit"},
        "es": {"o": "galletas", "one": "una galleta", "q": "Cuántas", "e": "as"},
        "sw": {"o": "biskuti", "one": "biskuti moja", "q": "ngapi", "red": "nyekundu", "yel": "za njano"},
        "ru": {"o": "печенья", "one": "одно печенье", "f": "печенье|печенья|печений"},
        "bn": {"o": "বিস্কুট", "g": "বিস্কুটের"},
        "th": {"o": "คุกกี้", "cl": "ชิ้น"},
        "ja": {"o": "クッキー", "cl": "枚"},
        "zh": {"o": "饼干", "cl": "块"},
    },
    {
        "en": {"o": "notebooks", "one": "one notebook"},
        "de": {"o": "Hefte", "one": "ein Heft"},
        "fr": {"o": "cahiers", "one": "un cahier"},
        "es": {"o": "cuadernos", "one": "un cuaderno", "q": "Cuántos", "e": "os"},
        "sw": {"o": "madaftari", "one": "daftari moja", "q": "mangapi", "red": "mekundu", "yel": "ya njano"},
        "ru": {"o": "блокноты", "one": "один блокнот", "f": "блокнот|блокнота|блокнотов"},
        "bn": {"o": "খাতা", "g": "খাতার"},
        "th": {"o": "สมุด", "cl": "เล่ม"},
        "ja": {"o": "ノート", "cl": "冊"},
        "zh": {"o": "笔记本", "cl": "本"},
    },
]

DOLLARS_RU = "доллар|доллара|долларов"


# Each problem: `draw` gives the numbers shown in the question (all of them appear in it),
# `answer` the integer result; then one format string per language.
PROBLEMS = [
    {
        "id": "colors",
        "draw": lambda r: {"a": r.randint(5, 40), "b": r.randint(2, 20)},
        "answer": lambda v: v["a"] + v["b"],
        "en": "{N} has {a} red {o} and {b} yellow {o}. How many {o} does {N} have?",
        "de": "{N} hat {a} rote {o} und {b} gelbe {o}. Wie viele {o} hat {N}?",
        "fr": "{N} a {a} {o} rouges et {b} {o} jaunes. Combien de {o} {N} a-t-{il} ?",
        "es": "{N} tiene {a} {o} roj{e} y {b} {o} amarill{e}. ¿{q} {o} tiene {N}?",
        "sw": "{N} ana {o} {red} {a} na {o} {yel} {b}. {N} ana {o} {q} kwa jumla?",
        "ru": "У {Ng} есть {a:{f}} красного цвета и {b:{f}} жёлтого цвета. Сколько всего {m} у {Ng}?",
        "bn": "{Ng} কাছে {a}টি লাল {o} এবং {b}টি হলুদ {o} আছে। {Ng} কাছে মোট কয়টি {o} আছে?",
        "th": "{N}มี{o}สีแดง {a} {cl} และ{o}สีเหลือง {b} {cl} {N}มี{o}ทั้งหมดกี่{cl}",
        "ja": "{N}さんは赤い{o}を{a}{cl}と黄色い{o}を{b}{cl}持っています。{N}さんは{o}を全部で何{cl}持っていますか？",
        "zh": "{N}有{a}{cl}红色的{o}和{b}{cl}黄色的{o}。{N}一共有多少{cl}{o}？",
    },
    {
        "id": "together",
        "draw": lambda r: {"a": r.randint(5, 40), "b": r.randint(2, 20)},
        "answer": lambda v: v["a"] + v["b"],
        "en": "{N} has {a} {o}. {N2} has {b} {o}. How many {o} do {N} and {N2} have together?",
        "de": "{N} hat {a} {o}. {N2} hat {b} {o}. Wie viele {o} haben {N} und {N2} zusammen?",
        "fr": "{N} a {a} {o}. {N2} a {b} {o}. Combien de {o} {N} et {N2} ont-{ils} ensemble ?",
        "es": "{N} tiene {a} {o}. {N2} tiene {b} {o}. ¿{q} {o} tienen {N} y {N2} en total?",
        "sw": "{N} ana {o} {a}. {N2} ana {o} {b}. {N} na {N2} wana {o} {q} kwa pamoja?",
        "ru": "У {Ng} есть {a:{f}}. У {N2g} есть {b:{f}}. Сколько {m} у {Ng} и {N2g} вместе?",
        "bn": "{Ng} কাছে {a}টি {o} আছে। {N2g} কাছে {b}টি {o} আছে। {N} ও {N2g} কাছে মোট কয়টি {o} আছে?",
        "th": "{N}มี{o} {a} {cl} {N2}มี{o} {b} {cl} {N}กับ{N2}มี{o}รวมกันกี่{cl}",
        "ja": "{N}さんは{o}を{a}{cl}持っています。{N2}さんは{o}を{b}{cl}持っています。{N}さんと{N2}さんの{o}は合わせて何{cl}ですか？",
        "zh": "{N}有{a}{cl}{o}，{N2}有{b}{cl}{o}。{N}和{N2}一共有多少{cl}{o}？",
    },
    {
        "id": "add",
        "draw": lambda r: {"a": r.randint(5, 40), "b": r.randint(2, 20)},
        "answer": lambda v: v["a"] + v["b"],
        "en": "{N} has {a} {o}. {N} buys {b} more {o}. How many {o} does {N} have now?",
        "de": "{N} hat {a} {o}. {N} kauft noch {b} {o} dazu. Wie viele {o} hat {N} jetzt?",
        "fr": "{N} a {a} {o}. {N} achète {b} {o} de plus. Combien de {o} {N} a-t-{il} maintenant ?",
        "es": "{N} tiene {a} {o}. {N} compra {b} {o} más. ¿{q} {o} tiene {N} ahora?",
        "sw": "{N} ana {o} {a}. {N} ananunua {o} {b} zaidi. Sasa {N} ana {o} {q}?",
        "ru": "У {Ng} есть {a:{f}}. {N} покупает ещё {b:{f}}. Сколько {m} теперь у {Ng}?",
        "bn": "{Ng} কাছে {a}টি {o} ছিল। {N} আরও {b}টি {o} কিনল। এখন {Ng} কাছে কয়টি {o} আছে?",
        "th": "{N}มี{o} {a} {cl} แล้วซื้อเพิ่มอีก {b} {cl} ตอนนี้{N}มี{o}ทั้งหมดกี่{cl}",
        "ja": "{N}さんは{o}を{a}{cl}持っています。さらに{b}{cl}買いました。{N}さんは今、{o}を何{cl}持っていますか？",
        "zh": "{N}有{a}{cl}{o}，又买了{b}{cl}。{N}现在一共有多少{cl}{o}？",
    },
    {
        "id": "give",
        "draw": lambda r: (lambda a: {"a": a, "b": r.randint(2, a - 3)})(r.randint(12, 50)),
        "answer": lambda v: v["a"] - v["b"],
        "en": "{N} has {a} {o} and gives {b} of them to a friend. How many {o} does {N} have left?",
        "de": "{N} hat {a} {o} und schenkt einem Freund {b} davon. Wie viele {o} hat {N} noch?",
        "fr": "{N} a {a} {o} et en donne {b} à un ami. Combien de {o} reste-t-il à {N} ?",
        "es": "{N} tiene {a} {o} y le regala {b} a un amigo. ¿{q} {o} le quedan a {N}?",
        "sw": "{N} ana {o} {a} na anampa rafiki yake {o} {b}. {N} amebaki na {o} {q}?",
        "ru": "У {Ng} есть {a:{f}}. {N} отдаёт другу {b:{f}}. Сколько {m} осталось у {Ng}?",
        "bn": "{Ng} কাছে {a}টি {o} ছিল। {N} একজন বন্ধুকে {b}টি {o} দিল। এখন {Ng} কাছে কয়টি {o} বাকি আছে?",
        "th": "{N}มี{o} {a} {cl} และให้เพื่อนไป {b} {cl} {N}เหลือ{o}กี่{cl}",
        "ja": "{N}さんは{o}を{a}{cl}持っています。そのうち{b}{cl}を友達にあげました。{N}さんの{o}は何{cl}残っていますか？",
        "zh": "{N}有{a}{cl}{o}，送给朋友{b}{cl}。{N}还剩下多少{cl}{o}？",
    },
    {
        "id": "boxes",
        "draw": lambda r: {"a": r.randint(2, 9), "b": r.randint(3, 12)},
        "answer": lambda v: v["a"] * v["b"],
        "en": "{N} buys {a} boxes of {o}. Each box contains {b} {o}. How many {o} does {N} buy in total?",
        "de": "{N} kauft {a} Schachteln {o}. In jeder Schachtel sind {b} {o}. Wie viele {o} kauft {N} insgesamt?",
        "fr": "{N} achète {a} boîtes de {o}. Chaque boîte contient {b} {o}. Combien de {o} {N} achète-t-{il} en tout ?",
        "es": "{N} compra {a} cajas de {o}. Cada caja contiene {b} {o}. ¿{q} {o} compra {N} en total?",
        "sw": "{N} ananunua masanduku {a} ya {o}. Kila sanduku lina {o} {b}. {N} ananunua {o} {q} kwa jumla?",
        "ru": "{N} покупает {a:коробку|коробки|коробок} {m}. В каждой коробке {b:{f}}. Сколько всего {m} покупает {N}?",
        "bn": "{N} {a} বাক্স {o} কিনল। প্রতিটি বাক্সে {b}টি করে {o} আছে। {N} মোট কয়টি {o} কিনল?",
        "th": "{N}ซื้อ{o} {a} กล่อง แต่ละกล่องมี{o} {b} {cl} {N}ซื้อ{o}ทั้งหมดกี่{cl}",
        "ja": "{N}さんは{o}を{a}箱買いました。どの箱にも{o}が{b}{cl}ずつ入っています。{N}さんが買った{o}は全部で何{cl}ですか？",
        "zh": "{N}买了{a}盒{o}，每盒有{b}{cl}。{N}一共买了多少{cl}{o}？",
    },
    {
        "id": "share",
        "draw": lambda r: (lambda b, k: {"a": b * k, "b": b})(r.randint(2, 8), r.randint(2, 9)),
        "answer": lambda v: v["a"] // v["b"],
        "en": "{N} has {a} {o} and shares them equally among {b} friends. How many {o} does each friend get?",
        "de": "{N} hat {a} {o} und verteilt sie gleichmäßig an {b} Freunde. Wie viele {o} bekommt jeder Freund?",
        "fr": "{N} a {a} {o} et les partage équitablement entre {b} amis. Combien de {o} chaque ami reçoit-il ?",
        "es": "{N} reparte {a} {o} en partes iguales entre {b} amigos. ¿{q} {o} recibe cada amigo?",
        "sw": "{N} anagawa {o} {a} kwa usawa kati ya marafiki {b}. Kila rafiki anapata {o} {q}?",
        "ru": "{N} делит {a:{f}} поровну между {b} друзьями. Сколько {m} получает каждый друг?",
        "bn": "{N} {a}টি {o} {b} জন বন্ধুর মধ্যে সমানভাবে ভাগ করে দিল। প্রত্যেক বন্ধু কয়টি করে {o} পেল?",
        "th": "{N}มี{o} {a} {cl} แบ่งให้เพื่อน {b} คนเท่า ๆ กัน เพื่อนแต่ละคนจะได้{o}กี่{cl}",
        "ja": "{N}さんは{o}を{a}{cl}持っていて、{b}人の友達に同じ数ずつ分けます。友達はそれぞれ何{cl}もらえますか？",
        "zh": "{N}有{a}{cl}{o}，平均分给{b}个朋友。每个朋友能分到多少{cl}{o}？",
    },
    {
        "id": "price",
        "draw": lambda r: {"a": r.randint(2, 15), "b": r.randint(2, 9)},
        "answer": lambda v: v["a"] * v["b"],
        "en": "At the shop, {one} costs {a} dollars. {N} buys {b} {o}. How many dollars does {N} pay?",
        "de": "Im Laden kostet {one} {a} Dollar. {N} kauft {b} {o}. Wie viele Dollar bezahlt {N}?",
        "fr": "Au magasin, {one} coûte {a} dollars. {N} achète {b} {o}. Combien de dollars {N} paie-t-{il} ?",
        "es": "En la tienda, {one} cuesta {a} dólares. {N} compra {b} {o}. ¿Cuántos dólares paga {N}?",
        "sw": "Dukani, bei ya {one} ni dola {a}. {N} ananunua {o} {b}. {N} analipa dola ngapi?",
        "ru": "В магазине {one} стоит {a:" + DOLLARS_RU + "}. {N} покупает {b:{f}}. Сколько долларов платит {N}?",
        "bn": "দোকানে একটি {g} দাম {a} ডলার। {N} {b}টি {o} কিনল। {N} মোট কত ডলার দিল?",
        "th": "ที่ร้านค้า {o}ราคา{cl}ละ {a} ดอลลาร์ {N}ซื้อ{o} {b} {cl} {N}ต้องจ่ายเงินกี่ดอลลาร์",
        "ja": "お店で{o}は1{cl}{a}ドルです。{N}さんは{o}を{b}{cl}買いました。{N}さんは全部で何ドル払いましたか？",
        "zh": "商店里每{cl}{o}{a}美元。{N}买了{b}{cl}{o}。{N}一共要付多少美元？",
    },
    {
        "id": "change",
        "draw": lambda r: (lambda a: {"a": a, "b": r.randint(5, a - 5)})(r.randint(20, 100)),
        "answer": lambda v: v["a"] - v["b"],
        "en": "{N} has {a} dollars and buys a book for {b} dollars. How many dollars does {N} have left?",
        "de": "{N} hat {a} Dollar und kauft ein Buch für {b} Dollar. Wie viele Dollar hat {N} noch übrig?",
        "fr": "{N} a {a} dollars et achète un livre à {b} dollars. Combien de dollars reste-t-il à {N} ?",
        "es": "{N} tiene {a} dólares y compra un libro que cuesta {b} dólares. ¿Cuántos dólares le quedan a {N}?",
        "sw": "{N} ana dola {a} na ananunua kitabu kwa dola {b}. {N} amebaki na dola ngapi?",
        "ru": "У {Ng} есть {a:"
        + DOLLARS_RU
        + "}. {N} покупает книгу за {b:"
        + DOLLARS_RU
        + "}. Сколько долларов осталось у {Ng}?",
        "bn": "{Ng} কাছে {a} ডলার ছিল। {N} {b} ডলার দিয়ে একটি বই কিনল। {Ng} কাছে আর কত ডলার রইল?",
        "th": "{N}มีเงิน {a} ดอลลาร์ ซื้อหนังสือราคา {b} ดอลลาร์ {N}เหลือเงินกี่ดอลลาร์",
        "ja": "{N}さんは{a}ドル持っています。{b}ドルの本を買いました。{N}さんには何ドル残っていますか？",
        "zh": "{N}有{a}美元，花{b}美元买了一本书。{N}还剩多少美元？",
    },
    {
        "id": "buy_give",
        "draw": lambda r: (lambda a, b: {"a": a, "b": b, "c": r.randint(2, a + b - 2)})(
            r.randint(10, 40), r.randint(2, 15)
        ),
        "answer": lambda v: v["a"] + v["b"] - v["c"],
        "en": "{N} has {a} {o}. {N} buys {b} more {o} and then gives {c} {o} to a friend. How many {o} does {N} have now?",
        "de": "{N} hat {a} {o}. {N} kauft {b} {o} dazu und schenkt danach einem Freund {c} {o}. Wie viele {o} hat {N} jetzt?",
        "fr": "{N} a {a} {o}. {N} achète {b} {o} de plus, puis en donne {c} à un ami. Combien de {o} {N} a-t-{il} maintenant ?",
        "es": "{N} tiene {a} {o}. Compra {b} {o} más y después le regala {c} a un amigo. ¿{q} {o} tiene {N} ahora?",
        "sw": "{N} ana {o} {a}. Ananunua {o} {b} zaidi, kisha anampa rafiki yake {o} {c}. Sasa {N} ana {o} {q}?",
        "ru": "У {Ng} есть {a:{f}}. {N} покупает ещё {b:{f}}, а потом отдаёт другу {c:{f}}. Сколько {m} теперь у {Ng}?",
        "bn": "{Ng} কাছে {a}টি {o} ছিল। {N} আরও {b}টি {o} কিনল, তারপর একজন বন্ধুকে {c}টি {o} দিল। এখন {Ng} কাছে কয়টি {o} আছে?",
        "th": "{N}มี{o} {a} {cl} ซื้อเพิ่มอีก {b} {cl} แล้วให้เพื่อนไป {c} {cl} ตอนนี้{N}มี{o}กี่{cl}",
        "ja": "{N}さんは{o}を{a}{cl}持っています。{b}{cl}買い足してから、友達に{c}{cl}あげました。{N}さんは今、{o}を何{cl}持っていますか？",
        "zh": "{N}有{a}{cl}{o}，又买了{b}{cl}，然后送给朋友{c}{cl}。{N}现在有多少{cl}{o}？",
    },
    {
        "id": "more_than",
        "draw": lambda r: {"a": r.randint(5, 30), "b": r.randint(2, 15)},
        "answer": lambda v: 2 * v["a"] + v["b"],
        "en": "{N} has {a} {o}. {N2} has {b} more {o} than {N}. How many {o} do {N} and {N2} have together?",
        "de": "{N} hat {a} {o}. {N2} hat {b} {o} mehr als {N}. Wie viele {o} haben {N} und {N2} zusammen?",
        "fr": "{N} a {a} {o}. {N2} a {b} {o} de plus que {N}. Combien de {o} {N} et {N2} ont-{ils} au total ?",
        "es": "{N} tiene {a} {o}. {N2} tiene {b} {o} más que {N}. ¿{q} {o} tienen {N} y {N2} en total?",
        "sw": "{N} ana {o} {a}. {N2} ana {o} {b} zaidi ya {N}. {N} na {N2} wana {o} {q} kwa pamoja?",
        "ru": "У {Ng} есть {a:{f}}. У {N2g} на {b:{f}} больше, чем у {Ng}. Сколько {m} у {Ng} и {N2g} вместе?",
        "bn": "{Ng} কাছে {a}টি {o} আছে। {N2g} কাছে {Ng} চেয়ে {b}টি বেশি {o} আছে। {N} ও {N2g} কাছে মোট কয়টি {o} আছে?",
        "th": "{N}มี{o} {a} {cl} {N2}มี{o}มากกว่า{N} {b} {cl} {N}กับ{N2}มี{o}รวมกันกี่{cl}",
        "ja": "{N}さんは{o}を{a}{cl}持っています。{N2}さんは{N}さんより{b}{cl}多く持っています。{N}さんと{N2}さんの{o}は合わせて何{cl}ですか？",
        "zh": "{N}有{a}{cl}{o}，{N2}比{N}多{b}{cl}。{N}和{N2}一共有多少{cl}{o}？",
    },
    {
        "id": "rows",
        "draw": lambda r: {"a": r.randint(3, 12), "b": r.randint(4, 12)},
        "answer": lambda v: v["a"] * v["b"],
        "en": "A classroom has {a} rows of chairs with {b} chairs in each row. How many chairs are in the classroom?",
        "de": "In einem Klassenzimmer stehen {a} Reihen mit je {b} Stühlen. Wie viele Stühle stehen im Klassenzimmer?",
        "fr": "Une salle de classe compte {a} rangées de {b} chaises. Combien de chaises y a-t-il dans la salle ?",
        "es": "Un aula tiene {a} filas de sillas con {b} sillas en cada fila. ¿Cuántas sillas hay en el aula?",
        "sw": "Darasa lina safu {a} za viti, na kila safu ina viti {b}. Kuna viti vingapi darasani?",
        "ru": "В классе {a:ряд|ряда|рядов} стульев, в каждом ряду {b:стул|стула|стульев}. Сколько стульев в классе?",
        "bn": "একটি শ্রেণিকক্ষে {a}টি সারিতে চেয়ার রাখা আছে, প্রতিটি সারিতে {b}টি করে চেয়ার। শ্রেণিকক্ষে মোট কয়টি চেয়ার আছে?",
        "th": "ห้องเรียนห้องหนึ่งมีเก้าอี้ {a} แถว แถวละ {b} ตัว ห้องเรียนนี้มีเก้าอี้ทั้งหมดกี่ตัว",
        "ja": "ある教室には椅子が{a}列並んでいて、各列に{b}脚ずつあります。教室には椅子が全部で何脚ありますか？",
        "zh": "一间教室里有{a}排椅子，每排有{b}把。教室里一共有多少把椅子？",
    },
    {
        "id": "savings",
        "draw": lambda r: {"a": r.randint(3, 20), "b": r.randint(2, 10)},
        "answer": lambda v: v["a"] * v["b"],
        "en": "{N} saves {a} dollars every week. How many dollars does {N} save in {b} weeks?",
        "de": "{N} spart jede Woche {a} Dollar. Wie viele Dollar spart {N} in {b} Wochen?",
        "fr": "{N} économise {a} dollars chaque semaine. Combien de dollars {N} économise-t-{il} en {b} semaines ?",
        "es": "{N} ahorra {a} dólares cada semana. ¿Cuántos dólares ahorra {N} en {b} semanas?",
        "sw": "{N} anaweka akiba ya dola {a} kila wiki. {N} ataweka akiba ya dola ngapi katika wiki {b}?",
        "ru": "{N} откладывает {a:"
        + DOLLARS_RU
        + "} каждую неделю. Сколько долларов {N} отложит за {b:неделю|недели|недель}?",
        "bn": "{N} প্রতি সপ্তাহে {a} ডলার জমায়। {b} সপ্তাহে {N} মোট কত ডলার জমাবে?",
        "th": "{N}เก็บเงินสัปดาห์ละ {a} ดอลลาร์ ใน {b} สัปดาห์{N}จะเก็บเงินได้กี่ดอลลาร์",
        "ja": "{N}さんは毎週{a}ドルずつ貯金します。{b}週間で何ドル貯まりますか？",
        "zh": "{N}每周存{a}美元。{b}周后{N}一共存了多少美元？",
    },
    {
        "id": "bus",
        "draw": lambda r: (lambda a: {"a": a, "b": r.randint(2, a - 2), "c": r.randint(2, 15)})(r.randint(10, 40)),
        "answer": lambda v: v["a"] - v["b"] + v["c"],
        "en": "There are {a} people on a bus. At a stop, {b} people get off and {c} people get on. How many people are on the bus now?",
        "de": "In einem Bus sitzen {a} Personen. An einer Haltestelle steigen {b} Personen aus und {c} Personen ein. Wie viele Personen sind jetzt im Bus?",
        "fr": "Il y a {a} personnes dans un bus. À un arrêt, {b} personnes descendent et {c} personnes montent. Combien de personnes y a-t-il maintenant dans le bus ?",
        "es": "En un autobús hay {a} personas. En una parada bajan {b} personas y suben {c}. ¿Cuántas personas hay ahora en el autobús?",
        "sw": "Kuna watu {a} ndani ya basi. Katika kituo, watu {b} wanashuka na watu {c} wanapanda. Sasa kuna watu wangapi ndani ya basi?",
        "ru": "В автобусе едут {a:человек|человека|человек}. На остановке выходят {b:человек|человека|человек} и входят {c:человек|человека|человек}. Сколько человек теперь в автобусе?",
        "bn": "একটি বাসে {a} জন যাত্রী আছে। একটি স্টপে {b} জন নেমে গেল এবং {c} জন উঠল। এখন বাসে কত জন যাত্রী আছে?",
        "th": "บนรถบัสมีผู้โดยสาร {a} คน ที่ป้ายรถเมล์มีคนลง {b} คน และขึ้น {c} คน ตอนนี้บนรถบัสมีผู้โดยสารกี่คน",
        "ja": "バスに{a}人乗っています。停留所で{b}人が降りて、{c}人が乗りました。今、バスには何人乗っていますか？",
        "zh": "一辆公交车上有{a}人。到站时下去了{b}人，又上来了{c}人。现在车上有多少人？",
    },
    {
        "id": "pages",
        "draw": lambda r: (lambda b, k: {"a": b * k, "b": b})(r.randint(3, 12), r.randint(2, 10)),
        "answer": lambda v: v["a"] // v["b"],
        "en": "A book has {a} pages. {N} reads {b} pages every day. How many days does {N} need to finish the book?",
        "de": "Ein Buch hat {a} Seiten. {N} liest jeden Tag {b} Seiten. Wie viele Tage braucht {N}, um das Buch fertig zu lesen?",
        "fr": "Un livre compte {a} pages. {N} lit {b} pages par jour. Combien de jours faut-il à {N} pour finir le livre ?",
        "es": "Un libro tiene {a} páginas. {N} lee {b} páginas cada día. ¿Cuántos días necesita {N} para terminar el libro?",
        "sw": "Kitabu kina kurasa {a}. {N} anasoma kurasa {b} kila siku. {N} atahitaji siku ngapi kumaliza kitabu?",
        "ru": "В книге {a:страница|страницы|страниц}. {N} читает по {b:страница|страницы|страниц} в день. За сколько дней {N} прочитает всю книгу?",
        "bn": "একটি বইয়ে {a} পৃষ্ঠা আছে। {N} প্রতিদিন {b} পৃষ্ঠা করে পড়ে। বইটি শেষ করতে {Ng} কত দিন লাগবে?",
        "th": "หนังสือเล่มหนึ่งมี {a} หน้า {N}อ่านวันละ {b} หน้า {N}ต้องใช้เวลากี่วันจึงจะอ่านจบ",
        "ja": "ある本は{a}ページあります。{N}さんは毎日{b}ページずつ読みます。本を読み終えるのに何日かかりますか？",
        "zh": "一本书有{a}页。{N}每天读{b}页。{N}需要多少天才能读完这本书？",
    },
    {
        "id": "twice",
        "draw": lambda r: {"a": r.randint(3, 25)},
        "answer": lambda v: 3 * v["a"],
        "en": "{N} has {a} {o}. {N2} has twice as many {o} as {N}. How many {o} do they have together?",
        "de": "{N} hat {a} {o}. {N2} hat doppelt so viele {o} wie {N}. Wie viele {o} haben beide zusammen?",
        "fr": "{N} a {a} {o}. {N2} a deux fois plus de {o} que {N}. Combien de {o} {N} et {N2} ont-{ils} en tout ?",
        "es": "{N} tiene {a} {o}. {N2} tiene el doble de {o} que {N}. ¿{q} {o} tienen {N} y {N2} en total?",
        "sw": "{N} ana {o} {a}. {N2} ana mara mbili ya idadi hiyo. Wote wawili wana {o} {q} kwa pamoja?",
        "ru": "У {Ng} есть {a:{f}}. У {N2g} в два раза больше. Сколько {m} у них вместе?",
        "bn": "{Ng} কাছে {a}টি {o} আছে। {N2g} কাছে তার দ্বিগুণ {o} আছে। দুজনের কাছে মোট কয়টি {o} আছে?",
        "th": "{N}มี{o} {a} {cl} {N2}มี{o}เป็นสองเท่าของ{N} ทั้งสองคนมี{o}รวมกันกี่{cl}",
        "ja": "{N}さんは{o}を{a}{cl}持っています。{N2}さんはその2倍の数を持っています。2人合わせて{o}は何{cl}ありますか？",
        "zh": "{N}有{a}{cl}{o}，{N2}的{o}是{N}的两倍。他们一共有多少{cl}{o}？",
    },
    {
        "id": "pens",
        "draw": lambda r: {"a": r.randint(2, 9), "b": r.randint(3, 15), "c": r.randint(2, 8)},
        "answer": lambda v: v["a"] * v["c"] + v["b"],
        "en": "A pen costs {a} dollars and a notebook costs {b} dollars. {N} buys {c} pens and one notebook. How many dollars does {N} spend?",
        "de": "Ein Kugelschreiber kostet {a} Dollar und ein Heft kostet {b} Dollar. {N} kauft {c} Kugelschreiber und ein Heft. Wie viele Dollar gibt {N} aus?",
        "fr": "Un stylo coûte {a} dollars et un cahier coûte {b} dollars. {N} achète {c} stylos et un cahier. Combien de dollars {N} dépense-t-{il} ?",
        "es": "Un bolígrafo cuesta {a} dólares y un cuaderno cuesta {b} dólares. {N} compra {c} bolígrafos y un cuaderno. ¿Cuántos dólares gasta {N}?",
        "sw": "Kalamu moja inauzwa dola {a} na daftari moja linauzwa dola {b}. {N} ananunua kalamu {c} na daftari moja. {N} anatumia dola ngapi?",
        "ru": "Ручка стоит {a:"
        + DOLLARS_RU
        + "}, а тетрадь — {b:"
        + DOLLARS_RU
        + "}. {N} покупает {c:ручку|ручки|ручек} и одну тетрадь. Сколько долларов тратит {N}?",
        "bn": "একটি কলমের দাম {a} ডলার এবং একটি খাতার দাম {b} ডলার। {N} {c}টি কলম ও একটি খাতা কিনল। {N} মোট কত ডলার খরচ করল?",
        "th": "ปากกาด้ามละ {a} ดอลลาร์ สมุดเล่มละ {b} ดอลลาร์ {N}ซื้อปากกา {c} ด้าม และสมุดหนึ่งเล่ม {N}ต้องจ่ายเงินทั้งหมดกี่ดอลลาร์",
        "ja": "ペンは1本{a}ドル、ノートは1冊{b}ドルです。{N}さんはペンを{c}本とノートを1冊買いました。{N}さんは全部で何ドル使いましたか？",
        "zh": "一支笔{a}美元，一个笔记本{b}美元。{N}买了{c}支笔和一个笔记本。{N}一共花了多少美元？",
    },
    {
        "id": "bags",
        "draw": lambda r: (lambda b, k: {"a": b * k, "b": b})(r.randint(2, 8), r.randint(2, 10)),
        "answer": lambda v: v["a"] // v["b"],
        "en": "{N} bakes {a} cookies and puts {b} cookies in each bag. How many bags does {N} fill?",
        "de": "{N} backt {a} Kekse und packt jeweils {b} Kekse in eine Tüte. Wie viele Tüten füllt {N}?",
        "fr": "{N} prépare {a} biscuits et met {b} biscuits dans chaque sachet. Combien de sachets {N} remplit-{il} ?",
        "es": "{N} hornea {a} galletas y pone {b} galletas en cada bolsa. ¿Cuántas bolsas llena {N}?",
        "sw": "{N} anaoka biskuti {a} na kuweka biskuti {b} katika kila mfuko. {N} anajaza mifuko mingapi?",
        "ru": "{N} печёт {a:печенье|печенья|печений} и раскладывает их по пакетам, по {b:печенье|печенья|печений} в каждый. Сколько пакетов получится у {Ng}?",
        "bn": "{N} {a}টি বিস্কুট বানাল এবং প্রতিটি প্যাকেটে {b}টি করে বিস্কুট রাখল। {N} কয়টি প্যাকেট ভরল?",
        "th": "{N}อบคุกกี้ {a} ชิ้น แล้วใส่ถุงละ {b} ชิ้น {N}ใส่คุกกี้ได้กี่ถุง",
        "ja": "{N}さんはクッキーを{a}枚焼いて、1袋に{b}枚ずつ入れます。クッキーの入った袋は何袋できますか？",
        "zh": "{N}烤了{a}块饼干，每袋装{b}块。{N}能装满多少袋？",
    },
    {
        "id": "legs",
        "draw": lambda r: {"a": r.randint(2, 15), "b": r.randint(2, 10)},
        "answer": lambda v: 2 * v["a"] + 4 * v["b"],
        "en": "A farm has {a} chickens and {b} cows. How many legs do these animals have in total?",
        "de": "Auf einem Bauernhof leben {a} Hühner und {b} Kühe. Wie viele Beine haben diese Tiere insgesamt?",
        "fr": "Une ferme compte {a} poules et {b} vaches. Combien de pattes ces animaux ont-ils au total ?",
        "es": "En una granja hay {a} gallinas y {b} vacas. ¿Cuántas patas tienen estos animales en total?",
        "sw": "Shamba moja lina kuku {a} na ng'ombe {b}. Wanyama hawa wana miguu mingapi kwa jumla?",
        "ru": "На ферме живут {a:курица|курицы|кур} и {b:корова|коровы|коров}. Сколько всего ног у этих животных?",
        "bn": "একটি খামারে {a}টি মুরগি এবং {b}টি গরু আছে। এই প্রাণীগুলোর মোট কয়টি পা আছে?",
        "th": "ฟาร์มแห่งหนึ่งมีไก่ {a} ตัว และวัว {b} ตัว สัตว์เหล่านี้มีขารวมกันกี่ขา",
        "ja": "ある農場にはニワトリが{a}羽、牛が{b}頭います。これらの動物の足は全部で何本ですか？",
        "zh": "一个农场里有{a}只鸡和{b}头牛。这些动物一共有多少条腿？",
    },
]

# Short statements, only in the translation pairs (no answer).
STATEMENTS = [
    {
        "id": "has",
        "draw": lambda r: {"a": r.randint(2, 50)},
        "en": "{N} has {a} {o}.",
        "de": "{N} hat {a} {o}.",
        "fr": "{N} a {a} {o}.",
        "es": "{N} tiene {a} {o}.",
        "sw": "{N} ana {o} {a}.",
        "ru": "У {Ng} есть {a:{f}}.",
        "bn": "{Ng} কাছে {a}টি {o} আছে।",
        "th": "{N}มี{o} {a} {cl}",
        "ja": "{N}さんは{o}を{a}{cl}持っています。",
        "zh": "{N}有{a}{cl}{o}。",
    },
    {
        "id": "buys",
        "draw": lambda r: {"a": r.randint(2, 50)},
        "en": "{N} buys {a} {o} at the shop.",
        "de": "{N} kauft im Laden {a} {o}.",
        "fr": "{N} achète {a} {o} au magasin.",
        "es": "{N} compra {a} {o} en la tienda.",
        "sw": "{N} ananunua {o} {a} dukani.",
        "ru": "{N} покупает в магазине {a:{f}}.",
        "bn": "{N} দোকান থেকে {a}টি {o} কিনল।",
        "th": "{N}ซื้อ{o} {a} {cl} ที่ร้านค้า",
        "ja": "{N}さんはお店で{o}を{a}{cl}買いました。",
        "zh": "{N}在商店买了{a}{cl}{o}。",
    },
    {
        "id": "box",
        "draw": lambda r: {"a": r.randint(2, 50)},
        "en": "Each box contains {a} {o}.",
        "de": "In jeder Schachtel sind {a} {o}.",
        "fr": "Chaque boîte contient {a} {o}.",
        "es": "Cada caja contiene {a} {o}.",
        "sw": "Kila sanduku lina {o} {a}.",
        "ru": "В каждой коробке {a:{f}}.",
        "bn": "প্রতিটি বাক্সে {a}টি করে {o} আছে।",
        "th": "แต่ละกล่องมี{o} {a} {cl}",
        "ja": "どの箱にも{o}が{a}{cl}ずつ入っています。",
        "zh": "每盒有{a}{cl}{o}。",
    },
    {
        "id": "walks",
        "draw": lambda r: {"a": r.randint(2, 20)},
        "en": "{N} walks {a} kilometers every day.",
        "de": "{N} geht jeden Tag {a} Kilometer zu Fuß.",
        "fr": "{N} marche {a} kilomètres chaque jour.",
        "es": "{N} camina {a} kilómetros cada día.",
        "sw": "{N} anatembea kilomita {a} kila siku.",
        "ru": "{N} проходит пешком {a:километр|километра|километров} каждый день.",
        "bn": "{N} প্রতিদিন {a} কিলোমিটার হাঁটে।",
        "th": "{N}เดินวันละ {a} กิโลเมตร",
        "ja": "{N}さんは毎日{a}キロメートル歩きます。",
        "zh": "{N}每天走{a}公里。",
    },
    {
        "id": "class",
        "draw": lambda r: {"a": r.randint(10, 40)},
        "en": "There are {a} students in the class.",
        "de": "In der Klasse sind {a} Schüler.",
        "fr": "Il y a {a} élèves dans la classe.",
        "es": "En la clase hay {a} alumnos.",
        "sw": "Kuna wanafunzi {a} darasani.",
        "ru": "В классе {a:ученик|ученика|учеников}.",
        "bn": "ক্লাসে {a} জন শিক্ষার্থী আছে।",
        "th": "ในห้องเรียนมีนักเรียน {a} คน",
        "ja": "クラスには生徒が{a}人います。",
        "zh": "班里有{a}名学生。",
    },
]


def _ru_form(n: int, forms: list[str]) -> str:
    """The Russian noun form (one|few|many) that agrees with the number `n`."""
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


class _Formatter(string.Formatter):
    """`{a:x|y|z}` writes the number `a` followed by the Russian noun form agreeing with it."""

    def format_field(self, value, format_spec):
        if "|" in format_spec:
            return f"{value} {_ru_form(value, format_spec.split('|'))}"
        return super().format_field(value, format_spec)


_FORMAT = _Formatter().format


def _name(index: int, lang: str) -> tuple[str, str]:
    latin, _, bn, bn_gen, th, ja, zh, ru, ru_gen = NAMES[index]
    return {"bn": (bn, bn_gen), "th": (th, th), "ja": (ja, ja), "zh": (zh, zh), "ru": (ru, ru_gen)}.get(
        lang, (latin, latin)
    )


def render(template: dict, lang: str, draw: dict) -> str:
    """One template in one language for one draw (`names`, `object`, `numbers`)."""
    (n1, n1g), (n2, n2g) = _name(draw["names"][0], lang), _name(draw["names"][1], lang)
    female = [NAMES[i][1] for i in draw["names"]]
    ctx = dict(
        OBJECTS[draw["object"]][lang],
        N=n1,
        Ng=n1g,
        N2=n2,
        N2g=n2g,
        il="elle" if female[0] else "il",
        ils="elles" if all(female) else "ils",
    )
    if "f" in ctx:
        ctx["m"] = ctx["f"].split("|")[2]
    return _FORMAT(template[lang], **ctx, **draw["numbers"])


def _draw(rng: random.Random, template: dict) -> dict:
    return {
        "template": template["id"],
        "names": tuple(rng.sample(range(len(NAMES)), 2)),
        "object": rng.randrange(len(OBJECTS)),
        "numbers": template["draw"](rng),
    }


def _draws(rng: random.Random, templates: list[dict], count: int, exclude: set) -> list[dict]:
    """`count` draws cycling through `templates`, each with a text (in every language) not in `exclude`.

    Texts, not draws, are compared: a template without names gives the same text for two draws
    that differ only in names. The texts of the chosen draws are added to `exclude`.
    """
    out = []
    while len(out) < count:
        template = templates[len(out) % len(templates)]
        draw = _draw(rng, template)
        texts = {(lang, render(template, lang, draw)) for lang in MATH_LANGUAGES}
        if not texts & exclude:
            exclude |= texts
            out.append(draw)
    return out


def build() -> dict:
    """The whole demo data set: `problems` (parallel rows) and `pairs` (per language).

    `problems`: list of {"template", "numbers", "answer", "text": {lang: question}}.
    `pairs`: {xx: list of (xx sentence, English sentence)} for the nine non-English languages.
    """
    by_id = {t["id"]: t for t in PROBLEMS + STATEMENTS}
    rng = random.Random(SEED)
    eval_texts: set = set()
    problems = []
    easy = [{**by_id[name], "draw": draw} for name, draw in EASY_DRAWS.items()]
    draws = _draws(rng, easy, N_EASY, eval_texts)
    draws += _draws(rng, rng.sample(PROBLEMS, len(PROBLEMS)), N_PROBLEMS - N_EASY, eval_texts)
    for d in draws:
        template = by_id[d["template"]]
        problems.append(
            {
                "template": d["template"],
                "numbers": d["numbers"],
                "answer": template["answer"](d["numbers"]),
                "text": {lang: render(template, lang, d) for lang in MATH_LANGUAGES},
            }
        )
    pairs = {}
    for i, lang in enumerate(code for code in MATH_LANGUAGES if code != "en"):
        rng = random.Random(SEED + 1 + i)
        templates = rng.sample(PROBLEMS + STATEMENTS, len(PROBLEMS + STATEMENTS))
        draws = _draws(rng, templates, N_PAIRS, set(eval_texts))
        pairs[lang] = [tuple(render(by_id[d["template"]], side, d) for side in (lang, "en")) for d in draws]
    return {"problems": problems, "pairs": pairs}


def write(out: Path) -> list[Path]:
    """Write `math/mgsm_<lang>.tsv` and `translation/<xx>-en/train.{xx,en}` under `out`."""
    data, written = build(), []

    def put(path: Path, lines: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes("".join(line + "\n" for line in lines).encode("utf-8"))
        written.append(path)

    for lang in MATH_LANGUAGES:
        put(out / "math" / f"mgsm_{lang}.tsv", [f"{p['text'][lang]}\t{p['answer']}" for p in data["problems"]])
    for lang, rows in data["pairs"].items():
        folder = out / "translation" / f"{lang}-en"
        put(folder / f"train.{lang}", [xx for xx, _ in rows])
        put(folder / "train.en", [en for _, en in rows])
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python scripts/generate_demo.py", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEMO_ROOT, help="folder to write into")
    args = parser.parse_args(argv)
    for path in write(args.out):
        print(path)


if __name__ == "__main__":
    main()
