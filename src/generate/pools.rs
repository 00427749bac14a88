//! Static pools the generator draws from: first names (with gender and nicknames), surnames
//! with a Zipf-like skew, towns with their postcode areas, street stems and email domains.

use std::sync::LazyLock;

use rand::Rng;
use rand::rngs::StdRng;

/// Male first names, most common first; `Name:Nick1/Nick2` lists nicknames.
const MALE: &str = "James:Jim/Jimmy/Jamie John:Jack/Johnny Robert:Bob/Rob/Bobby Michael:Mike/Mick \
David:Dave William:Bill/Will/Billy Richard:Rick/Rich/Dick Thomas:Tom/Tommy Christopher:Chris \
Daniel:Dan/Danny Matthew:Matt Joseph:Joe Anthony:Tony Paul Mark Andrew:Andy/Drew Steven:Steve \
Stephen:Steve Kenneth:Ken/Kenny Edward:Ed/Eddie/Ted Jonathan:Jon Nicholas:Nick Benjamin:Ben \
Samuel:Sam Alexander:Alex/Sandy Gregory:Greg Patrick:Pat/Paddy Peter:Pete Frederick:Fred/Freddie \
Gerald:Gerry Lawrence:Larry Philip:Phil Timothy:Tim Douglas:Doug Zachary:Zach Harold:Harry \
Henry:Harry/Hal Raymond:Ray Ronald:Ron Donald:Don Leonard:Len Stanley:Stan Albert:Al/Bert \
Herbert:Bert Bernard:Bernie Reginald:Reg Nathan:Nate Joshua:Josh Jacob:Jake Oliver:Ollie \
Charles:Charlie/Chuck George Brian Kevin Gary Jason Ryan Eric Scott Justin Brandon Frank \
Jack Dennis Tyler Aaron Adam Kyle Noah Ethan Jeremy Walter Christian Keith Roger Terry Austin \
Sean Carl Arthur Jordan Jesse Bryan Bruce Gabriel Logan Alan Elijah Wayne Randy Vincent Mason \
Roy Ralph Russell Bradley Eugene Harry Charlie Alfie Archie Leo Oscar Theo Finley Isaac Lewis \
Liam Connor Callum Jamie Ross Craig Stuart Neil Ian Graham Colin Barry Trevor Nigel Malcolm \
Derek Dean Darren Gareth Rhys Owen Dafydd Hamish Angus Declan Ciaran Niall Rory Toby Hugo \
Rupert Max Luke Simon Martin Victor Edwin Cyril Clive Gordon Howard Ernest Alistair Duncan \
Fraser Euan Kieran Joel Reece Mohammed Ahmed Hassan Omar Yusuf Imran Arjun Rahul Sanjay \
Vikram Kwame Chidi Tunde Hiroshi Kenji Marco Luca Pierre Hans Piotr Tomasz Lars Erik Sven \
Andrei Dmitri Ivan Nathaniel Sebastian Dominic Julian Tristan Elliot Jasper Felix Louis Ruben";

/// Female first names, most common first; `Name:Nick1/Nick2` lists nicknames.
const FEMALE: &str = "Mary Elizabeth:Liz/Beth/Lizzie/Betty Margaret:Maggie/Peggy/Meg \
Katherine:Kate/Kathy/Katie Catherine:Cathy/Kate Jennifer:Jen/Jenny Patricia:Pat/Trish \
Susan:Sue/Susie Deborah:Debbie/Deb Rebecca:Becky/Becca Victoria:Vicky/Tori Samantha:Sam \
Christine:Chris Christina:Tina Jacqueline:Jackie Kimberly:Kim Pamela:Pam Barbara:Barb \
Dorothy:Dot/Dottie Abigail:Abby Amanda:Mandy Stephanie:Steph Jessica:Jess Judith:Judy \
Theresa:Tess Eleanor:Ellie/Nell Florence:Flo Matilda:Tilly Harriet:Hattie Isabella:Bella/Izzy \
Gwendolyn:Gwen Valerie:Val Frances:Fran Cynthia:Cindy Natalie:Nat Danielle:Dani Winifred:Winnie \
Sarah Linda Karen Nancy Lisa Sandra Ashley Emily Donna Michelle Carol Melissa Laura Sharon \
Kathleen Amy Shirley Angela Helen Anna Brenda Nicole Emma Ruth Rachel Carolyn Janet Virginia \
Maria Heather Diane Julie Joyce Kelly Joan Evelyn Lauren Olivia Martha Cheryl Megan Andrea \
Hannah Ann Jean Alice Gloria Teresa Doris Janice Julia Marie Madison Grace Denise Marilyn \
Amber Rose Diana Sophia Alexis Lori Kayla Jane Amelia Isla Ava Mia Poppy Ella Lily Sophie \
Charlotte Freya Evie Ruby Chloe Millie Daisy Phoebe Imogen Lucy Holly Jade Leah Gemma Kirsty \
Lindsay Fiona Morag Eilidh Catriona Rhiannon Bethan Sian Ffion Niamh Aoife Ciara Orla Gillian \
Tracey Joanne Claire Louise Kerry Zara Aisha Fatima Priya Ananya Mei Yuki Giulia Chiara Anja \
Agnieszka Katarzyna Ingrid Astrid Olga Natasha Beatrice Edith Mabel Violet Marjorie Maureen \
Pauline Sheila Wendy Yvonne Rosemary Hazel Irene Eileen Jennie Naomi Esther Miriam";

/// Non-ASCII first names (about 5% of people): male then female.
const MALE_INTL: &str =
    "José Łukasz François Øyvind Jürgen Søren Björn André Raphaël Ömer Mátyás Stéphane";
/// Non-ASCII female first names.
const FEMALE_INTL: &str =
    "Zoë Siobhán Chloë Renée Inès Léa Aurélie Małgorzata Sinéad Åsa Dóra Noémie";

/// Surnames, most common first (drawn with a Zipf-like skew).
const SURNAMES: &str = "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson \
Roberts Robinson Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel \
Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan \
Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook \
Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson \
Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt \
Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker \
Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard \
Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole \
Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells \
Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page \
Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson Newton \
Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson Parry Burgess \
Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman Warren Nicholls Hamilton Byrne \
Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor Harper Coleman Watkins Moss \
McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle \
Wallace George Jordan Hutchinson Rowe Burke May Pritchard Gilbert Willis Higgins Read Miles \
Stevenson Stephenson Hammond Arnold Buckley Walters Hewitt Barber Nelson Slater Austin Sullivan \
Whitehead Mann Frost Lambert Stephens Blake Akhtar Lynch Goodwin Barton Woodward Thomson \
Cunningham Quinn Barnett Baxter Bibi Clayton Nash Greenwood Jennings Holt Kemp Poole Gallagher \
Bond Stokes Tucker Davidson Fowler Heath Norman Middleton Lawson Banks French Stanley Jarvis \
Gibbs Ferguson Hayward Carroll Douglas Nowak Kowalski Chen Wang Zhang Nguyen Tanaka Rossi \
Garcia Martinez Fernandes Okafor Mensah Kumar Sharma Mistry Chowdhury Rahman Islam Iqbal";

/// Non-ASCII surnames (about 5% of people).
const SURNAMES_INTL: &str = "Müller Schröder Jørgensen Østergaard Núñez Peña García Wójcik Dvořák \
Novák Hernández Gómez Söderström Łaszewski Çelik Yılmaz Kovačević Lefèvre";

/// Towns, most populous first, each with its postcode areas: `Town|AREA/AREA`.
const TOWNS: &str = "London|SW/SE/N/E/W/NW Birmingham|B Manchester|M Leeds|LS Glasgow|G \
Liverpool|L Sheffield|S Bristol|BS Edinburgh|EH Cardiff|CF Leicester|LE Coventry|CV \
Nottingham|NG Newcastle upon Tyne|NE Belfast|BT Bradford|BD Brighton|BN Hull|HU Plymouth|PL \
Stoke-on-Trent|ST Wolverhampton|WV Derby|DE Swansea|SA Southampton|SO Aberdeen|AB Portsmouth|PO \
York|YO Peterborough|PE Dundee|DD Lancaster|LA Oxford|OX Newport|NP Preston|PR St Albans|AL \
Norwich|NR Chester|CH Cambridge|CB Exeter|EX Gloucester|GL Bath|BA Reading|RG Milton Keynes|MK \
Luton|LU Northampton|NN Ipswich|IP Colchester|CO Chelmsford|CM Canterbury|CT Guildford|GU \
Crawley|RH Slough|SL Watford|WD Bournemouth|BH Swindon|SN Worcester|WR Hereford|HR \
Shrewsbury|SY Telford|TF Lincoln|LN Doncaster|DN Wakefield|WF Huddersfield|HD Halifax|HX \
Harrogate|HG Bolton|BL Blackburn|BB Wigan|WN Warrington|WA Stockport|SK Oldham|OL \
Sunderland|SR Durham|DH Middlesbrough|TS Carlisle|CA Inverness|IV Perth|PH Stirling|FK \
Kilmarnock|KA Paisley|PA Dumfries|DG Kirkcaldy|KY Motherwell|ML Wrexham|LL Torquay|TQ Truro|TR \
Taunton|TA Salisbury|SP Tunbridge Wells|TN Dartford|DA Bromley|BR Croydon|CR \
Kingston upon Thames|KT Sutton|SM Twickenham|TW Enfield|EN Harrow|HA Ilford|IG Romford|RM \
Uxbridge|UB Stevenage|SG Southend-on-Sea|SS Rochester|ME Walsall|WS Dudley|DY";

/// Street name stems.
const STREET_STEMS: &str = "High Church Station Main Park Victoria Green Manor Kings Queens Grange \
Mill New School Chapel Albert York George North South West East Windsor Highfield Springfield Oak \
Elm Ash Beech Birch Cedar Willow Maple Chestnut Holly Meadow Orchard Riverside Brook Hill Broad \
Castle Bridge Market London Cambridge Oxford Mount Richmond Stanley Grosvenor Clarence Warwick \
Nelson Wellington Cromwell Princes Alexandra Rectory Vicarage Farm Cherry Rowan Hawthorn Lime \
Poplar Sycamore Laurel Heather Primrose Bluebell Foxglove Kestrel Falcon Heron Swan Lark Robin \
Abbey Priory Canal Harbour Quarry Forge Well Moor Heath Field Valley Ridge Lake Woodland Coronation";

/// Street types with their common abbreviation: `Full/Abbr`.
const STREET_TYPES: &str = "Road/Rd Street/St Lane/Ln Avenue/Ave Close/Cl Drive/Dr Way/Way \
Gardens/Gdns Crescent/Cres Place/Pl Court/Ct Terrace/Ter Grove/Gr Rise/Rise View/View Walk/Wlk \
Mews/Mews Row/Row Square/Sq Parade/Pde";

/// Email domains, repeated by weight.
const DOMAINS: &[(&str, u32)] = &[
    ("gmail.com", 30),
    ("outlook.com", 10),
    ("hotmail.co.uk", 10),
    ("hotmail.com", 5),
    ("yahoo.co.uk", 8),
    ("btinternet.com", 5),
    ("icloud.com", 5),
    ("sky.com", 3),
    ("virginmedia.com", 3),
    ("aol.com", 2),
    ("nhs.net", 3),
    ("acme-logistics.co.uk", 2),
    ("northwind.co.uk", 2),
    ("contoso.com", 2),
    ("initech.co.uk", 2),
    ("globex.com", 2),
];

/// A first name with its gender and nicknames.
#[derive(Debug)]
pub(super) struct FirstName {
    /// The formal name.
    pub name: &'static str,
    /// Whether the name is female.
    pub female: bool,
    /// Nicknames, possibly none.
    pub nicknames: Vec<&'static str>,
}

/// A town and its postcode areas.
#[derive(Debug)]
pub(super) struct Town {
    /// Town name.
    pub name: &'static str,
    /// Postcode areas (`SW`, `M`), at least one.
    pub areas: Vec<&'static str>,
}

/// A list drawn with fixed weights, through a cumulative table.
pub(super) struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<f64>,
}

impl<T> Weighted<T> {
    /// Zipf-like weights `1 / (rank + offset)` in list order.
    fn zipf(items: Vec<T>, offset: f64) -> Self {
        let weights = (0..items.len()).map(|r| 1.0 / (r as f64 + offset));
        Self::new(items, weights)
    }

    fn new(items: Vec<T>, weights: impl Iterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cumulative = weights
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Weighted { items, cumulative }
    }

    /// One item, drawn by weight.
    pub fn draw(&self, rng: &mut StdRng) -> &T {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        let i = self.cumulative.partition_point(|&c| c <= x);
        &self.items[i.min(self.items.len() - 1)]
    }
}

/// Every pool, built once.
pub(super) struct Pools {
    /// Common male first names.
    pub male: Weighted<FirstName>,
    /// Common female first names.
    pub female: Weighted<FirstName>,
    /// Non-ASCII male first names.
    pub male_intl: Vec<FirstName>,
    /// Non-ASCII female first names.
    pub female_intl: Vec<FirstName>,
    /// Common surnames.
    pub surnames: Weighted<&'static str>,
    /// Non-ASCII surnames.
    pub surnames_intl: Vec<&'static str>,
    /// Towns, weighted by size.
    pub towns: Weighted<Town>,
    /// Street stems.
    pub street_stems: Vec<&'static str>,
    /// Street types: (full, abbreviation).
    pub street_types: Vec<(&'static str, &'static str)>,
    /// Email domains, weighted.
    pub domains: Weighted<&'static str>,
}

/// The pools, parsed from the tables above on first use.
pub(super) static POOLS: LazyLock<Pools> = LazyLock::new(|| Pools {
    male: Weighted::zipf(first_names(MALE, false), 8.0),
    female: Weighted::zipf(first_names(FEMALE, true), 8.0),
    male_intl: first_names(MALE_INTL, false),
    female_intl: first_names(FEMALE_INTL, true),
    surnames: Weighted::zipf(SURNAMES.split_whitespace().collect(), 5.0),
    surnames_intl: SURNAMES_INTL.split_whitespace().collect(),
    towns: Weighted::zipf(towns(), 2.0),
    street_stems: STREET_STEMS.split_whitespace().collect(),
    street_types: STREET_TYPES
        .split_whitespace()
        .map(|t| t.split_once('/').unwrap_or((t, t)))
        .collect(),
    domains: Weighted::new(
        DOMAINS.iter().map(|(d, _)| *d).collect(),
        DOMAINS.iter().map(|(_, w)| f64::from(*w)),
    ),
});

fn first_names(table: &'static str, female: bool) -> Vec<FirstName> {
    table
        .split_whitespace()
        .map(|entry| {
            let (name, nicks) = entry.split_once(':').unwrap_or((entry, ""));
            let nicknames = nicks.split('/').filter(|n| !n.is_empty()).collect();
            FirstName {
                name,
                female,
                nicknames,
            }
        })
        .collect()
}

fn towns() -> Vec<Town> {
    // Town names contain spaces, so entries are split on the `|AREA ` boundaries.
    let mut out = Vec::new();
    let mut rest = TOWNS;
    while let Some((name, after)) = rest.split_once('|') {
        let (areas, tail) = after.split_once(' ').unwrap_or((after, ""));
        out.push(Town {
            name: name.trim(),
            areas: areas.split('/').collect(),
        });
        rest = tail;
    }
    out
}

/// A uniformly drawn element of a non-empty slice.
pub(super) fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}
