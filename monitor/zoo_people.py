"""Who lives where, for the zoo of labelled worlds: names with their frequencies, towns, streets, firms.

People (`Person`) and firms (`Company`) of the population are drawn from these. Surname frequencies
follow each country's registers roughly (shares of the population in percent for
the common names); the rest of the population carries names built from local place-name parts, each
rare, as real long tails are. First names are listed by gender; pools never share a first name across
genders, so a first name tells the gender.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


def _weighted(text: str) -> dict[str, float]:
    """'Jensen:4.9 Nielsen:4.8' -> {'Jensen': 4.9, 'Nielsen': 4.8}."""
    return {name: float(weight) for name, weight in (item.split(":") for item in text.split())}


def _zipf(names: list[str], total: float, exponent: float = 0.9) -> dict[str, float]:
    """Names' shares falling off with rank, summing to total."""
    raw = [1 / (rank + 1) ** exponent for rank in range(len(names))]
    scale = total / sum(raw)
    return {name: weight * scale for name, weight in zip(names, raw)}


SURNAMES_COMMON = {
    "da": _weighted(
        "Nielsen:4.9 Jensen:4.9 Hansen:3.6 Pedersen:3.0 Andersen:3.0 Christensen:1.9 Larsen:1.8 Sørensen:1.7 "
        "Rasmussen:1.5 Jørgensen:1.3 Petersen:1.3 Madsen:1.1 Kristensen:1.1 Olsen:0.9 Thomsen:0.7 Christiansen:0.6 "
        "Poulsen:0.6 Johansen:0.6 Møller:0.6 Mortensen:0.5 Knudsen:0.5 Jakobsen:0.5 Mikkelsen:0.4 Olesen:0.4 "
        "Frederiksen:0.4 Laursen:0.4 Henriksen:0.4 Lund:0.4 Holm:0.35 Schmidt:0.35 Eriksen:0.3 Kristiansen:0.3 "
        "Nissen:0.3 Simonsen:0.3 Lauridsen:0.3 Clausen:0.3 Kjær:0.3 Berg:0.25 Andreasen:0.25 Jepsen:0.25 "
        "Mogensen:0.25 Jacobsen:0.2 Østergaard:0.2 Dahl:0.2 Vestergaard:0.2 Nørgaard:0.2 Bach:0.2 Bruun:0.18 "
        "Lassen:0.18 Friis:0.17 Iversen:0.17 Kjeldsen:0.17 Svendsen:0.17 Ravn:0.15 Winther:0.15 Jessen:0.15 "
        "Bertelsen:0.14 Bak:0.14 Villadsen:0.13 Dam:0.13 Kofoed:0.1"),
    "nb": _weighted(
        "Hansen:0.95 Johansen:0.9 Olsen:0.9 Larsen:0.7 Andersen:0.7 Pedersen:0.7 Nilsen:0.7 Kristiansen:0.5 "
        "Jensen:0.5 Karlsen:0.45 Johnsen:0.4 Pettersen:0.4 Eriksen:0.4 Berg:0.35 Haugen:0.3 Hagen:0.3 "
        "Johannessen:0.3 Andreassen:0.25 Jacobsen:0.25 Dahl:0.23 Jørgensen:0.22 Halvorsen:0.22 Henriksen:0.2 "
        "Lund:0.2 Sørensen:0.2 Jakobsen:0.2 Moen:0.2 Gundersen:0.2 Iversen:0.2 Strand:0.18 Solberg:0.18 "
        "Svendsen:0.17 Eide:0.17 Knutsen:0.17 Martinsen:0.17 Paulsen:0.16 Bakken:0.16 Kristoffersen:0.16 "
        "Mathisen:0.15 Lie:0.15 Amundsen:0.15 Nguyen:0.14 Rasmussen:0.14 Ali:0.13 Lunde:0.13 Solheim:0.13 "
        "Berge:0.13 Moe:0.12 Nygård:0.12 Bakke:0.12 Kristensen:0.12 Fredriksen:0.12 Holm:0.11 Lien:0.11 "
        "Hauge:0.11 Christensen:0.1 Andresen:0.1 Nielsen:0.1 Knudsen:0.1 Evensen:0.1"),
    "sv": _weighted(
        "Andersson:2.3 Johansson:2.3 Karlsson:2.1 Nilsson:1.7 Eriksson:1.6 Larsson:1.3 Olsson:1.2 Persson:1.1 "
        "Svensson:1.1 Gustafsson:1.0 Pettersson:0.9 Jonsson:0.7 Jansson:0.5 Hansson:0.4 Bengtsson:0.3 "
        "Jönsson:0.3 Lindberg:0.3 Jakobsson:0.28 Magnusson:0.28 Olofsson:0.27 Lindström:0.26 Lindqvist:0.25 "
        "Lindgren:0.25 Berg:0.24 Axelsson:0.24 Bergström:0.24 Lundberg:0.24 Lind:0.23 Lundgren:0.23 "
        "Lundqvist:0.22 Mattsson:0.22 Berglund:0.21 Fredriksson:0.2 Sandberg:0.2 Henriksson:0.2 Forsberg:0.19 "
        "Sjöberg:0.19 Ali:0.19 Wallin:0.18 Mohammed:0.18 Engström:0.17 Eklund:0.17 Danielsson:0.17 Lundin:0.17 "
        "Håkansson:0.17 Björk:0.16 Bergman:0.16 Gunnarsson:0.16 Holm:0.16 Wikström:0.15 Samuelsson:0.15 "
        "Isaksson:0.15 Fransson:0.15 Bergqvist:0.15 Nyström:0.15 Holmberg:0.14 Arvidsson:0.14 Löfgren:0.14 "
        "Söderberg:0.14 Nyberg:0.14"),
    "de": _weighted(
        "Müller:0.95 Schmidt:0.7 Schneider:0.45 Fischer:0.4 Weber:0.35 Meyer:0.33 Wagner:0.3 Becker:0.28 "
        "Schulz:0.27 Hoffmann:0.27 Schäfer:0.22 Koch:0.22 Bauer:0.21 Richter:0.2 Klein:0.2 Wolf:0.18 "
        "Schröder:0.17 Neumann:0.17 Schwarz:0.16 Zimmermann:0.16 Braun:0.15 Krüger:0.15 Hofmann:0.15 "
        "Hartmann:0.15 Lange:0.14 Schmitt:0.14 Werner:0.14 Schmitz:0.14 Krause:0.14 Meier:0.13 Lehmann:0.13 "
        "Schmid:0.13 Schulze:0.12 Maier:0.12 Köhler:0.12 Herrmann:0.12 König:0.11 Walter:0.11 Mayer:0.11 "
        "Huber:0.11 Kaiser:0.1 Fuchs:0.1 Peters:0.1 Lang:0.1 Scholz:0.1 Möller:0.1 Weiß:0.1 Jung:0.1 Hahn:0.1 "
        "Schubert:0.1 Vogel:0.09 Friedrich:0.09 Keller:0.09 Günther:0.09 Frank:0.09 Berger:0.09 Winkler:0.09 "
        "Roth:0.09 Beck:0.09 Lorenz:0.09"),
    "en": _weighted(
        "Smith:1.15 Jones:0.95 Williams:0.6 Taylor:0.55 Brown:0.55 Davies:0.5 Evans:0.4 Wilson:0.4 Thomas:0.35 "
        "Johnson:0.35 Roberts:0.35 Robinson:0.3 Thompson:0.3 Wright:0.3 Walker:0.3 White:0.28 Edwards:0.28 "
        "Hughes:0.28 Green:0.27 Hall:0.27 Lewis:0.26 Harris:0.26 Clarke:0.26 Patel:0.25 Jackson:0.24 Wood:0.24 "
        "Turner:0.22 Martin:0.22 Cooper:0.22 Hill:0.22 Ward:0.21 Morris:0.21 Moore:0.21 Clark:0.21 Lee:0.2 "
        "King:0.2 Baker:0.2 Harrison:0.2 Morgan:0.2 Allen:0.19 James:0.19 Scott:0.19 Phillips:0.18 Watson:0.18 "
        "Davis:0.18 Parker:0.17 Price:0.17 Bennett:0.17 Young:0.17 Griffiths:0.17 Mitchell:0.16 Kelly:0.16 "
        "Cook:0.16 Carter:0.16 Richardson:0.16 Bailey:0.15 Collins:0.15 Bell:0.15 Shaw:0.15 Murphy:0.15"),
}

# Rare surnames as each country builds them from places and farms: (first parts, last parts).
SURNAME_PARTS = {
    "da": ("Bjerre Dals Holm Kjær Lund Skov Bro Eng Fjord Hede Høj Sand Sten Vester Øster Nør Sønder Bæk Birk Ege "
           "Ask Lind Mølle Gram Hvid Rosen Toft Dal Kloster Hjort Ager Lykke Grøn Krog",
           "gaard berg lund holm dal strup rup sted bæk høj skov mose toft by vig lev"),
    "nb": ("Aas Bakk Berg Bjør Brekk Dal Eng Fjell Foss Gjerd Haug Heg Holt Hov Lid Myr Nes Rud Sand Skog Stor Tved "
           "Vik Øy Sol Grøn Lang Sæt Tor Ulv Rø Hol Kval Løv Skår",
           "en e ås heim stad land dal berg rud vik nes haug li mo set bø"),
    "sv": ("Berg Lind Sand Ek Holm Sjö Ström Lund Dahl Fors Ny Söder Norr Väster Öster Häll Ljung Ros Al Bjur Gran "
           "Hag Kvist Lil Sten Blom Asp Björk Hed Löv Mal Rya Sval Tall Ulf",
           "berg ström qvist gren lund dahl holm bäck blad sjö fors vall man ling stedt gård"),
    "de": ("Acker Berg Brunn Eich Feld Fried Grün Hasel Hoch Kirch Lind Mühl Ober Rosen Sonn Stein Wald Wies Bruck "
           "Dorn Holz Kalt Lau Wein Zell Alt Bir Eng Gold Hag Hirsch Kessel Lin Mos Neu Reich Sand Tann Unter Wart",
           "mann er huber meier berger bach feld hofer inger ner ler hammer reiter wald stetter brunner"),
    "en": ("Ash Black Brad Brook Chad Church Cold Crab Dun East Fair Farn Hart Haw Hay Holl Kings Lang Mar Mill Mor "
           "New North Oak Pen Rad Ram Red Rock Ry Shel South Stan Stock Thorn Wake West Whit Wind Wood",
           "ley ton field wood ford well worth by ham hurst cliffe combe dale more stone wick"),
}

FIRST_NAMES = {  # (women, men), most common first, shares falling off with rank; FIRST_NAMES_RARER follow them
    "da": ("Anne Kirsten Hanne Mette Anna Helle Susanne Lene Maria Marianne Lone Camilla Pia Louise Inge Charlotte "
           "Bente Tina Gitte Karen Jette Birgitte Line Julie Heidi Christina Malene Rikke Sofie Lotte Ida Emma Mia "
           "Trine Signe Maja Dorthe Katrine Sanne Lise Nanna Stine Janne Berit Ulla Tove Vibeke Pernille Laura Cecilie",
           "Peter Michael Jens Lars Thomas Henrik Søren Christian Martin Jan Morten Jesper Niels Anders Mads Rasmus "
           "Hans Per Jørgen Ole Kim Mikkel Frederik Kasper Jakob Simon Brian Steen Torben Poul Kenneth Carsten Bo "
           "Allan Kristian Erik Nikolaj Jonas Emil Tobias Johan Lasse Mathias Bjarne Flemming Claus Finn Kurt Preben "
           "Jimmi"),
    "nb": ("Anne Inger Kari Marit Ingrid Liv Eva Berit Astrid Bjørg Hilde Anna Solveig Marianne Randi Ida Nina "
           "Ragnhild Elisabeth Kristin Tone Ellen Heidi Silje Hanne Gerd Mari Camilla Ingeborg Maria Tove Wenche "
           "Sissel Grete Linda Hege Kirsten Turid Line Julie Nora Emma Sara Thea Ingvild Siri Mona Lene Monica Guro",
           "Jan Per Bjørn Ole Lars Kjell Knut Arne Svein Thomas Hans Geir Tor Morten Terje Odd Martin Erik Andreas "
           "John Anders Rune Trond Tore Jon Nils Stein Kristian Øyvind Espen Jonas Magnus Henrik Daniel Fredrik "
           "Marius Helge Eirik Sindre Håkon Vidar Gunnar Leif Sigurd Even Emil Jørgen Petter Ola Kåre"),
    "sv": ("Anna Eva Maria Karin Sara Kristina Lena Emma Kerstin Marie Malin Ingrid Jenny Hanna Linda Annika "
           "Susanne Elin Monica Birgitta Sofia Johanna Carina Elisabeth Ulla Julia Katarina Linnéa Emelie Ida Helena "
           "Camilla Åsa Cecilia Anneli Sandra Gunilla Anita Therese Josefin Marianne Frida Lisa Louise Matilda Ebba "
           "Margareta Agneta Ellen Moa",
           "Lars Mikael Anders Johan Per Erik Karl Peter Thomas Jan Daniel Fredrik Hans Andreas Stefan Mats Magnus "
           "Mattias Jonas Bengt Niklas Marcus Martin Björn Sven Oskar Alexander Leif Patrik Henrik Viktor Göran "
           "Christer Håkan Ulf Rickard Joakim Emil Kjell Robert Tobias Gustav Simon Anton Johnny Roger Kent Tommy "
           "Linus Axel"),
    "de": ("Sabine Petra Andrea Susanne Claudia Nicole Stefanie Monika Birgit Julia Anja Katrin Christine Ursula "
           "Martina Heike Gabriele Karin Sandra Anna Maria Renate Melanie Tanja Silke Christina Elke Ingrid Barbara "
           "Laura Lisa Sarah Katharina Kerstin Manuela Jana Lena Simone Daniela Bettina Angelika Brigitte Helga "
           "Marion Yvonne Sonja Nadine Jessica Franziska Johanna",
           "Peter Michael Thomas Andreas Wolfgang Klaus Jürgen Stefan Christian Uwe Werner Frank Bernd Markus Hans "
           "Matthias Alexander Martin Dieter Jörg Manfred Horst Sebastian Ralf Daniel Tobias Jan Florian Dirk "
           "Holger Sven Heinz Torsten Gerhard Rainer Helmut Lukas Jonas Felix Maximilian Tim Kai Oliver Simon "
           "Philipp Niklas Björn Marco Rolf Günter"),
    "en": ("Sarah Susan Helen Claire Emma Julie Karen Elizabeth Lisa Nicola Margaret Jane Louise Rachel Joanne "
           "Caroline Amanda Alison Laura Catherine Jennifer Michelle Angela Patricia Mary Gemma Rebecca Kelly "
           "Victoria Samantha Jessica Hannah Charlotte Lucy Sophie Emily Anne Linda Deborah Tracey Wendy Jacqueline "
           "Joanna Natalie Kate Fiona Katie Amy Lynn Janet",
           "David John Paul James Mark Michael Andrew Peter Richard Robert Stephen Ian Christopher Steven Thomas "
           "Daniel Simon Matthew Gary Anthony William Martin Alan Kevin Graham Neil Jonathan Adam Lee Craig Darren "
           "Jason Colin Stuart Philip Nicholas Keith Brian Tony Jack Oliver Harry George Ben Sam Luke Tom Ryan Dean "
           "Carl"),
}

FIRST_NAMES_RARER = {  # (women, men) less common first names, after the common ones in rank
    "da": ("Birthe Else Grethe Ruth Jytte Aase Merete Connie Lis Rita Annette Winnie Henriette Natasja Sara "
           "Freja Clara Alberte Josefine Isabella Astrid Ellen Karina Tanja Mie Ditte Anja Nadia Bodil Hjørdis",
           "Ib Leif Knud Arne Svend John Benny Dennis René Jacob Nicolai Oliver William Noah Lucas Victor Magnus "
           "Christoffer Sebastian Philip Alexander Daniel Patrick Ulrik Troels Esben Rune Bent Gert Mogens"),
    "nb": ("Gunn Else Aud Laila Trine Elin Kjersti Vigdis Torill Hanna Ingunn Synnøve Sigrid Marte Kaja Vilde "
           "Maja Oda Tuva Hedda Live Amalie Karoline Maren Irene Janne Unni Bente Åse Randveig",
           "Rolf Roar Harald Olav Egil Einar Jarle Frode Kenneth Robert Stian Kim Ove Dag Arild Kristoffer "
           "Sander Mathias Tobias Elias Jakob Filip Aksel Håvard Audun Torbjørn Asbjørn Steinar Ivar Alf"),
    "sv": ("Ann Inger Britt Gun Maja Alice Elsa Wilma Alva Klara Stina Tove Viktoria Amanda Rebecka Jessica "
           "Petra Ylva Helén Marita Siv Lotta Pia Ewa Sofie Ingela Karolina Nathalie Angelica Madeleine",
           "Nils Olof Lennart Åke Rolf Bo Gunnar Stig Tomas Kristoffer Sebastian Filip Isak Elias Hugo Albin "
           "Lukas Ludvig Oliver William Jesper Pontus Torbjörn Dan Claes Ingemar Arne Rune Sten Lars-Erik"),
    "de": ("Ute Doris Gisela Erika Hannelore Inge Elisabeth Anke Antje Doreen Ines Sylvia Carina Vanessa "
           "Jennifer Sophie Marie Hannah Emma Mia Leonie Lea Charlotte Paula Luisa Nina Tina Susann Kathrin "
           "Ramona",
           "Karl Hermann Günther Lothar Walter Volker Norbert Reinhard Detlef Gerd Ulrich Harald Hubert Rüdiger "
           "Kevin Dennis René Patrick Marcel Benjamin David Paul Leon Lars Moritz Julian Fabian Jens Hendrik "
           "Stephan"),
    "en": ("Pauline Dawn Carol Sandra Lorraine Beverley Diane Jean Sharon Hayley Zoe Chloe Ellie Megan Olivia "
           "Grace Holly Georgia Abigail Jade Leanne Kirsty Stacey Donna Paula Gillian Maria Ruth Sally Heather",
           "Ronald Derek Barry Roger Trevor Malcolm Nigel Terry Wayne Shaun Scott Kieran Liam Jamie Josh Callum "
           "Connor Joe Jake Charlie Alfie Max Henry Edward Gareth Rhys Owen Dylan Aaron Russell"),
}

NICKNAMES = {  # first name -> the short forms people sign with
    "da": "Thomas:Tom Christian:Chris Kristian:Kris Frederik:Frede Michael:Micky Nikolaj:Niko Charlotte:Lotte "
          "Christina:Tina Susanne:Sanne Katrine:Trine Camilla:Milla Jørgen:Jørn",
    "nb": "Thomas:Tom Kristian:Kris Fredrik:Fred Andreas:Andy Elisabeth:Lise Marianne:Mari Ingeborg:Inga "
          "Kristin:Kiki Øyvind:Øyvi Magnus:Mange",
    "sv": "Mikael:Micke Thomas:Tompa Fredrik:Fredde Andreas:Andy Alexander:Alex Kristina:Kicki Katarina:Kattis "
          "Elisabeth:Lisa Johanna:Hanna Christer:Kicke",
    "de": "Thomas:Tom Michael:Micha Andreas:Andi Christian:Chris Alexander:Alex Matthias:Matze Maximilian:Max "
          "Tobias:Tobi Sebastian:Basti Florian:Flo Daniel:Dani Stefanie:Steffi Katharina:Kathi Susanne:Susi "
          "Gabriele:Gabi Christine:Tine Franziska:Franzi Barbara:Babsi",
    "en": "William:Bill,Will Robert:Rob,Bob Richard:Rich Michael:Mike Christopher:Chris Stephen:Steve Steven:Steve "
          "Andrew:Andy Nicholas:Nick Daniel:Dan Matthew:Matt Jonathan:Jon Philip:Phil Thomas:Tom David:Dave "
          "James:Jim,Jamie Elizabeth:Liz,Beth Margaret:Maggie Jennifer:Jen Rebecca:Becky Samantha:Sam "
          "Victoria:Vicky Catherine:Cathy Patricia:Trish Deborah:Debbie Jacqueline:Jackie Susan:Sue Amanda:Mandy",
}

MIDDLE_NAME_SHARE = {"da": 0.35, "nb": 0.3, "sv": 0.4, "de": 0.12, "en": 0.25}  # middle name in the register
SALUTATIONS = {"de": ("Frau", "Herr"), "en": ("Mrs", "Mr")}  # (women, men); only some platforms use them

TOWNS = {  # (town, postcode, population in thousands)
    "da": "Aarhus:8000:285 Odense:5000:180 Aalborg:9000:120 Esbjerg:6700:72 Randers:8900:63 Kolding:6000:62 "
          "Horsens:8700:61 Vejle:7100:60 Roskilde:4000:52 Herning:7400:51 Silkeborg:8600:50 Næstved:4700:44 "
          "Fredericia:7000:41 Viborg:8800:41 Køge:4600:38 Holstebro:7500:37 Slagelse:4200:34 Taastrup:2630:33 "
          "Hillerød:3400:33 Sønderborg:6400:28 Svendborg:5700:27 Hjørring:9800:25 Holbæk:4300:28 Frederikshavn:9900:23 "
          "Nørresundby:9400:22 Ringsted:4100:23 Haderslev:6100:22 Skive:7800:21 Nyborg:5800:18 Skanderborg:8660:20",
    "nb": "Bergen:5003:290 Trondheim:7010:210 Stavanger:4005:145 Drammen:3015:70 Fredrikstad:1606:85 Kristiansand:4610:95 "
          "Sandnes:4306:80 Tromsø:9008:65 Sarpsborg:1706:58 Skien:3710:55 Ålesund:6002:55 Sandefjord:3210:46 "
          "Haugesund:5501:45 Tønsberg:3110:42 Moss:1530:35 Porsgrunn:3915:37 Bodø:8006:43 Arendal:4836:35 "
          "Hamar:2317:32 Larvik:3256:25 Halden:1767:25 Lillehammer:2609:28 Molde:6413:24 Kongsberg:3611:23 "
          "Gjøvik:2815:22 Harstad:9405:21",
    "sv": "Göteborg:41103:600 Malmö:21115:350 Uppsala:75220:180 Västerås:72211:130 Örebro:70210:125 "
          "Linköping:58223:115 Helsingborg:25221:110 Jönköping:55311:100 Norrköping:60219:95 Lund:22221:95 "
          "Umeå:90325:90 Gävle:80310:78 Borås:50330:75 Södertälje:15131:75 Eskilstuna:63220:70 Halmstad:30224:70 "
          "Växjö:35230:70 Karlstad:65224:65 Sundsvall:85230:60 Östersund:83130:50 Trollhättan:46130:50 "
          "Luleå:97231:48 Kalmar:39230:42 Kristianstad:29130:41 Falun:79171:38 Skövde:54130:38",
    "de": "Dortmund:44135:590 Essen:45127:580 Duisburg:47051:500 Bochum:44787:365 Wuppertal:42103:355 "
          "Bielefeld:33602:335 Bonn:53111:330 Münster:48143:315 Mönchengladbach:41061:260 Gelsenkirchen:45879:260 "
          "Aachen:52062:250 Krefeld:47798:227 Oberhausen:46045:210 Hagen:58095:188 Hamm:59065:180 Mülheim:45468:170 "
          "Leverkusen:51373:163 Solingen:42651:159 Herne:44623:156 Neuss:41460:153 Paderborn:33098:152 "
          "Bottrop:46236:117 Recklinghausen:45657:110 Remscheid:42853:111 Siegen:57072:102 Moers:47441:104 "
          "Gütersloh:33330:101 Witten:58452:96 Iserlohn:58636:92 Ratingen:40878:87",
    "en": "Leeds:LS1:790 Sheffield:S1:580 Bradford:BD1:540 Manchester:M1:550 Liverpool:L1:500 Bristol:BS1:470 "
          "Leicester:LE1:350 Coventry:CV1:345 Nottingham:NG1:330 Hull:HU1:260 Stoke:ST1:255 Derby:DE1:260 "
          "Wolverhampton:WV1:265 Plymouth:PL1:265 Southampton:SO14:250 Reading:RG1:230 Northampton:NN1:225 "
          "Luton:LU1:225 Bolton:BL1:195 York:YO1:210 Huddersfield:HD1:160 Preston:PR1:145 Blackpool:FY1:140 "
          "Middlesbrough:TS1:140 Swindon:SN1:185 Oxford:OX1:160 Cambridge:CB1:145 Ipswich:IP1:140 Norwich:NR1:145 "
          "Gloucester:GL1:130",
}

STREET_PARTS = {  # (name parts, endings separated by "|" with "{}" where the part goes)
    "da": ("Birke Bøge Ege Skov Mølle Kirke Skole Strand Hav Enghave Rose Linde Ahorn Kastanie Nørre Søndre Vester "
           "Øster Lærke Vibe Bakke Hylde Hassel Elme Grøn Park Stations Mark Fjord Sø Toft Kløver Syren Valmue Rug",
           "{}vej|{}gade|{}allé|{}stien|{}parken|{}toften"),
    "nb": ("Bjørke Furu Gran Skog Mølle Kirke Skole Strand Sjø Eng Rose Linde Løkke Bakke Solhaug Fjell Elve Storgata "
           "Nord Sør Vest Øst Hage Lyng Park Stasjon Mark Fjord Haug Tun Kløver Syrin Rogn Bekke Berg",
           "{}veien|{}gata|{}vegen|{}stien|{}lia"),
    "sv": ("Björk Bok Ek Skogs Kvarn Kyrk Skol Strand Sjö Äng Ros Lind Lönn Kastanj Norra Södra Västra Östra Lärk "
           "Vip Backe Hassel Alm Park Stations Åker Fjärd Hag Tall Klöver Syren Vallmo Råg Gran Berg",
           "{}vägen|{}gatan|{}stigen|{}gränd|{}backen"),
    "de": ("Birken Buchen Eichen Wald Mühlen Kirch Schul Bach See Wiesen Rosen Linden Ahorn Kastanien Garten "
           "Sonnen Berg Feld Tannen Holunder Hasel Ulmen Park Bahnhof Acker Brunnen Hof Klee Flieder Mohn Korn "
           "Hirsch Lerchen Amsel",
           "{}straße|{}weg|{}allee|{}ring|{}pfad|Am {}hang"),
    "en": ("Oak Ash Elm Beech Mill Church School Station Park Meadow Rose Lime Maple Chestnut North South West "
           "East Lark Willow Hazel Birch Garden Orchard Manor Victoria Albert Queen King Bridge Brook Chapel Green "
           "Hill Grange",
           "{} Road|{} Street|{} Close|{} Avenue|{} Lane|{} Drive|{} Way"),
}

LEGAL_FORMS = {  # a company's legal form as it is written, with its share
    "da": _weighted("ApS:0.55 A/S:0.25 I/S:0.1 IVS:0.1"),
    "nb": _weighted("AS:0.8 ASA:0.05 DA:0.1 ENK:0.05"),
    "sv": _weighted("AB:0.85 HB:0.1 KB:0.05"),
    "de": {"GmbH": 0.6, "GmbH & Co. KG": 0.15, "e.K.": 0.1, "AG": 0.05, "GbR": 0.1},
    "en": _weighted("Ltd:0.85 LLP:0.1 PLC:0.05"),
}

COMPANY_PATTERNS = {  # names of firms that hire a tradesman; {surname}, {town}, {street}, {word}, {legal}
    "da": ("{surname} {word} {legal}", "{town} {word} {legal}", "{surname} & Søn {legal}", "{surname} Holding {legal}",
           "Andelsboligforeningen {street}", "Ejerforeningen {street}", "Boligselskabet {town}"),
    "nb": ("{surname} {word} {legal}", "{town} {word} {legal}", "{surname} & Sønn {legal}", "{surname} Holding {legal}",
           "{street} Borettslag", "Sameiet {street}"),
    "sv": ("{surname}s {word} {legal}", "{town} {word} {legal}", "{surname} & Son {legal}", "{surname} Holding {legal}",
           "Brf {street}", "Samfälligheten {street}"),
    "de": ("{surname} {word} {legal}", "{town}er {word} {legal}", "{surname} & Sohn {legal}",
           "Hausverwaltung {surname} {legal}", "WEG {street}", "Immobilien {surname} {legal}"),
    "en": ("{surname} {word} {legal}", "{town} {word} {legal}", "{surname} & Sons {legal}", "{surname} Holdings {legal}",
           "{town} Housing Association", "{street} Management Company {legal}"),
}

COMPANY_WORDS = {
    "da": "Ejendomme Byg Invest Administration Udlejning Tandklinik Auto Bageri Frisør Revision",
    "nb": "Eiendom Bygg Invest Forvaltning Utleie Tannlege Bil Bakeri Frisør Regnskap",
    "sv": "Fastigheter Bygg Invest Förvaltning Uthyrning Tandvård Bil Bageri Frisör Redovisning",
    "de": "Immobilien Bau Invest Verwaltung Vermietung Zahnarztpraxis Autohaus Bäckerei Friseur Steuerberatung",
    "en": "Properties Building Investments Lettings Estates Dental Motors Bakery Salon Accountants",
}

EMAIL_DOMAINS = {
    "da": "gmail.com hotmail.com mail.dk yahoo.dk live.dk outlook.dk jubii.dk",
    "nb": "gmail.com hotmail.com online.no outlook.com yahoo.no live.no",
    "sv": "gmail.com hotmail.com telia.com outlook.com yahoo.se live.se",
    "de": "gmail.com web.de gmx.de t-online.de outlook.de yahoo.de freenet.de",
    "en": "gmail.com hotmail.co.uk outlook.com yahoo.co.uk btinternet.com sky.com",
}


@dataclass(frozen=True)
class Person:
    """A person of the population, as the register and the firm's export know them."""

    gender: int  # 0 woman, 1 man
    first: str
    middle: str | None
    last: str
    ident: int = 0  # two Anne Jensens are two people


@dataclass(frozen=True)
class Company:
    """A firm that hires a tradesman, by its registered name."""

    full: str
    short: str  # without its legal form
    ident: int = 0


def pick(rng: random.Random, weights: dict[Any, float]) -> Any:
    """One key of weights, drawn with its weight."""
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]



@dataclass(frozen=True)
class Pools:
    """One country's name frequencies, as probabilities."""

    country: str
    first: tuple[dict[str, float], dict[str, float]]  # (women, men): name -> probability within the gender
    surnames: dict[str, float]  # name -> probability
    nicknames: dict[str, tuple[str, ...]]
    middle_share: float


@lru_cache(maxsize=None)
def pools(country: str) -> Pools:
    """The country's pools; the tail of rare surnames is the same on every call."""
    common = SURNAMES_COMMON[country]
    heads, tails = (part.split() for part in SURNAME_PARTS[country])
    built = [head + tail.lower() if not head.endswith(tail[:1]) else head + tail[1:] for head, tail in itertools.product(heads, tails)]
    built = [name for name in dict.fromkeys(built) if name not in common]
    random.Random(f"surname-tail-{country}").shuffle(built)
    share_common = sum(common.values())
    surnames = {name: weight / 100 for name, weight in common.items()}
    surnames.update(_zipf(built, 1 - share_common / 100, exponent=0.6))
    # About 80 names a gender, the most common ~3% of its gender and the 80th ~1%, as in the registers' top lists.
    women, men = (_zipf(list(dict.fromkeys((common + " " + rarer).split())), 1.0, exponent=0.3)
                  for common, rarer in zip(FIRST_NAMES[country], FIRST_NAMES_RARER[country]))
    nicknames = {first: tuple(short.split(",")) for first, short in (item.split(":") for item in NICKNAMES[country].split())}
    return Pools(country, (women, men), surnames, nicknames, MIDDLE_NAME_SHARE[country])


def towns(country: str) -> list[tuple[str, str, float]]:
    """(town, postcode, population in thousands) of the country."""
    return [(town, code, float(size)) for town, code, size in (item.split(":") for item in TOWNS[country].split())]


def street_names(country: str) -> list[str]:
    """Every street name the country's parts make."""
    parts, endings = STREET_PARTS[country]
    return [ending.format(part) for part in parts.split() for ending in endings.split("|")]
