"""The words of the generated demo catalogue (:mod:`pipeline_lib.data.demo`): its category taxonomy with
each subcategory's nouns, words and brands, and the word lists titles, descriptions, details and reviews
are drawn from.

The generator draws from these tuples by position: changing a list, or the order of its entries, changes
the generated data (the demo's raw files, and every stage output downstream of them).
"""

ROOT_CATEGORY = "Industrial & Scientific"

# top category → subcategory → ("noun|noun", "word|word|...", "Brand|Brand"). Subcategories are
# listed in chain order: the Markov chain's strongest edge goes from each to the next (cyclically).
TAXONOMY: dict[str, dict[str, tuple[str, str, str]]] = {
    "Lab Supplies": {
        "Pipettes": ("pipette|micropipette|pipettor",
                     "adjustable|10-100 µL|autoclavable|calibrated|single-channel", "Pipetix|VolumaLab"),
        "Pipette Tips": ("pipette tips|filter tips|tip rack",
                         "sterile|low-retention|racked|polypropylene|graduated", "TipWell|Aerostop"),
        "Test Tubes": ("test tubes|culture tubes|centrifuge tubes",
                       "borosilicate|screw cap|conical|rimless|tube rack", "Tubrex|Kultiva"),
        "Beakers & Flasks": ("beaker|erlenmeyer flask|flask",
                             "graduated|heat-resistant|pour spout|glass|volumetric", "Glassmith|Boroline"),
        "Petri Dishes": ("petri dishes|culture plates|agar plates",
                         "sterile|stackable|vented|polystyrene|bacteriology", "Culturo|AgarMax"),
        "Lab Gloves": ("nitrile gloves|exam gloves|latex gloves",
                       "powder-free|disposable|textured fingertips|chemical resistant|ambidextrous", "GloveGuard|Nitrix"),
    },
    "Microscopy": {
        "Microscopes": ("microscope|compound microscope|stereo microscope",
                        "binocular|LED illumination|magnification|objective lenses|mechanical stage", "OptiScope|Lumaview"),
        "Microscope Slides": ("microscope slides|glass slides|prepared slides",
                              "frosted|pre-cleaned|specimen|ground edges|labeling", "SlideCraft|Specimo"),
        "Stains & Dyes": ("stain|dye|gram stain kit",
                          "methylene blue|crystal violet|eosin|staining solution|hematoxylin", "ChromaLab|Stainwell"),
        "Cover Slips": ("cover slips|coverslips|cover glass",
                        "square|thickness|No. 1.5|optical|ultra-thin", "ClearCover|Thinglas"),
        "Microscope Cameras": ("microscope camera|eyepiece camera|digital eyepiece",
                               "USB|megapixel|C-mount|imaging software|live video", "MicroCam|PixelScope"),
        "Magnifiers": ("magnifier|loupe|magnifying glass",
                       "illuminated|handheld|jeweler|10x|folding", "Loupex|MagniPro"),
    },
    "Test & Measurement": {
        "Multimeters": ("multimeter|voltmeter|clamp meter",
                        "digital|auto-ranging|true RMS|test leads|continuity", "Voltix|AmpereOne"),
        "Thermometers": ("thermometer|temperature probe|thermocouple",
                         "infrared|non-contact|stainless probe|Fahrenheit|Celsius", "ThermoTrue|Kelvix"),
        "Calipers": ("caliper|vernier caliper|micrometer",
                     "stainless|digital readout|0.01 mm|depth rod|inch/metric", "Calipro|Mitumetric"),
        "Scales": ("scale|precision balance|digital scale",
                   "gram|tare|calibration weight|milligram|weighing", "Balancia|GramWorks"),
        "pH Meters": ("pH meter|pH tester|pH pen", "buffer|electrode|calibration|ATC|water quality", "Phlux|Acidix"),
        "Oscilloscopes": ("oscilloscope|scope probe|signal analyzer",
                          "bandwidth|MHz|channel|waveform|sample rate", "Scopetek|Wavetrace"),
    },
    "Fasteners": {
        "Screws": ("screws|machine screws|wood screws",
                   "phillips|stainless|thread|pan head|torx", "ScrewCo|Threadline"),
        "Bolts & Nuts": ("bolts|hex nuts|lock nuts",
                         "zinc plated|grade 8|hex head|assortment|coarse thread", "BoltBarn|Hexford"),
        "Washers": ("washers|flat washers|lock washers",
                    "split|zinc|SAE|fender|assortment kit", "WasherWorks|Ringmax"),
        "Rivets": ("rivets|pop rivets|blind rivets",
                   "aluminum|rivet gun|grip range|mandrel|countersunk", "Rivetra|Popline"),
        "Anchors": ("wall anchors|drywall anchors|anchor bolts",
                    "concrete|toggle|expansion|masonry|self-drilling", "AnchorPro|Drywallex"),
        "Staples": ("staples|staple gun|tacker",
                    "heavy duty|narrow crown|leg length|upholstery|jam-free", "Staplex|Crownfast"),
    },
    "Janitorial & Sanitation": {
        "Trash Bags": ("trash bags|garbage bags|can liners",
                       "drawstring|gallon|puncture resistant|contractor|odor control", "BagForce|Linerline"),
        "Paper Towels": ("paper towels|hand towels|towel rolls",
                         "multifold|absorbent|dispenser|recycled|two-ply", "Absorba|TowelPro"),
        "Mops & Buckets": ("mop|mop bucket|mop head",
                           "wringer|microfiber|commercial|wet floor|looped end", "Moptimum|Wringwell"),
        "Disinfectants": ("disinfectant|sanitizer|cleaning wipes",
                          "kills germs|hospital grade|bleach-free|spray|EPA registered", "Germex|Sanitora"),
        "Soap Dispensers": ("soap dispenser|foam soap|soap refill",
                            "touchless|wall mount|sensor|refillable|foaming", "Lathera|Dispensix"),
        "Brooms": ("broom|dustpan|push broom", "angled|bristles|sweeping|lobby|long handle", "Sweepwell|Bristleco"),
    },
    "Safety Equipment": {
        "Safety Glasses": ("safety glasses|goggles|safety spectacles",
                           "anti-fog|ANSI Z87.1|wraparound|tinted lens|scratch resistant", "Visiguard|ClearShield"),
        "Ear Protection": ("ear plugs|earmuffs|hearing protectors",
                           "noise reduction|NRR 33 dB|foam|corded|hearing protection", "Quietix|Earsafe"),
        "Respirators": ("respirator|dust mask|N95 mask",
                        "filter cartridge|exhalation valve|particulate|half-face|NIOSH", "Breathex|AirGuard"),
        "Hard Hats": ("hard hat|safety helmet|bump cap",
                      "ratchet suspension|vented|full brim|HDPE shell|Type I", "Helmax|Crownguard"),
        "Safety Vests": ("safety vest|reflective vest|hi-vis jacket",
                         "high visibility|reflective strips|Class 2|breathable mesh|fluorescent", "Brightline|Vizwear"),
        "First Aid Kits": ("first aid kit|bandages|trauma kit",
                           "emergency|gauze|OSHA compliant|antiseptic|burn cream", "Medikit|Aidwell"),
    },
    "Electrical": {
        "Wire & Cable": ("hookup wire|electrical cable|wire spool",
                         "gauge|copper|stranded|insulated|AWG", "Wirely|Coppermax"),
        "Connectors": ("crimp connectors|wire terminals|butt connectors",
                       "heat shrink|butt splice|ring terminal|spade|crimping", "Crimpex|Terminalis"),
        "Capacitors": ("capacitor|run capacitor|start capacitor",
                       "microfarad|uF|370 VAC|motor|dual run", "Capacitec|Farado"),
        "Relays": ("relay|solid state relay|relay module",
                   "coil voltage|DC|SPDT contacts|switching|optocoupler", "Relaytron|Switchon"),
        "Soldering": ("soldering iron|solder wire|soldering station",
                      "flux|rosin core|temperature control|lead-free|iron tips", "Solderix|Fluxcraft"),
        "Fuses": ("fuses|fuse holder|blade fuses",
                  "fast blow|amp rating|glass tube|automotive|slow blow", "Fusetec|Ampguard"),
    },
    "3D Printing": {
        "3D Printers": ("3D printer|FDM printer|desktop printer",
                        "auto leveling|direct drive|build volume|touchscreen|enclosed", "Layerforge|Printara"),
        "Filament": ("PLA filament|PETG filament|filament spool",
                     "1.75 mm|dimensional accuracy|tangle-free|vacuum sealed|spool", "Filamento|Extrudo"),
        "Nozzles": ("nozzle|hotend nozzle|nozzle kit", "brass|hardened steel|0.4 mm|extruder|MK8", "Nozzlix|Hotendo"),
        "Build Plates": ("build plate|print bed|PEI sheet",
                         "magnetic|flexible|bed adhesion|textured|spring steel", "Bedrock3D|Platewell"),
        "Resin": ("UV resin|photopolymer resin|resin bottle",
                  "405 nm|low odor|curing|high detail|water washable", "Resinova|Curelite"),
        "Printer Parts": ("stepper motor|timing belt|extruder gear",
                          "GT2|pulley|NEMA 17|upgrade kit|bearing", "Partsmith|Gearloop"),
    },
}

GENERIC_ADJECTIVES = ("Professional", "Premium", "Heavy Duty", "Compact", "Economy", "Industrial", "Durable", "Standard")
PACKS = ("", "", ", Pack of 10", ", 100 Count", ", Set of 3", ", 2 Pack", ", 50 Pieces")
USES = ("laboratories", "classrooms", "workshops", "field work", "professional use", "home projects", "industrial settings")
OTHER_MAIN_CATEGORIES = ("Tools & Home Improvement", "Amazon Home", "Health & Personal Care")
MATERIALS = ("Plastic", "Stainless Steel", "Glass", "Aluminum", "Polypropylene", "Rubber", "Brass")
MONTHS = ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December")
REVIEW_TITLES = {
    5: ("Five Stars", "Excellent {noun}", "Exactly what I needed", "Works perfectly", "Great {noun}"),
    4: ("Good {noun}", "Works well", "Solid value", "Nice {word} {noun}", "Four Stars"),
    3: ("OK", "Average {noun}", "Does the job", "Three Stars"),
    2: ("Disappointed", "Not as described", "Poor quality {noun}"),
    1: ("Broke quickly", "Do not buy", "Returned it"),
}
REVIEW_OPENERS = {
    5: "Really happy with this {noun}.", 4: "Good {noun} for the price.", 3: "This {noun} is okay.",
    2: "Expected more from this {noun}.", 1: "This {noun} did not work for me.",
}
