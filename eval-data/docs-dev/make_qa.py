"""Write docs-dev's qa.jsonl from the lists below and check that every answer is a substring of a document.

Run from anywhere: ``python eval-data/docs-dev/make_qa.py`` (exit 1 when an answer is missing).
"""
import json
import pathlib
HERE = pathlib.Path(__file__).parent
A = "answerable"
Q = [
 # ---- Apache-2.0 (fit)
 ("Apache-2.0.txt", "Do I need to pay to use software under the Apache License?", ["copyright license to reproduce, prepare Derivative Works of", "patent license to make, have made"]),
 ("Apache-2.0.txt", "What happens to my patent license if I sue someone for patent infringement?", ["as of the date such litigation is filed"]),
 ("Apache-2.0.txt", "Do I have to include a copy of the license when I redistribute the work?", ["a copy of this License; and"]),
 ("Apache-2.0.txt", "Must I mark the files I changed?", ["stating that You changed the files"]),
 ("Apache-2.0.txt", "what is the NOTICE file for", ["of the NOTICE file are for informational purposes only"]),
 ("Apache-2.0.txt", "Can I use the licensor's trademarks?", ["This License does not grant permission to use the trade"]),
 ("Apache-2.0.txt", "Does the Apache License come with any warranty?", ["WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or"]),
 ("Apache-2.0.txt", "Can a contributor be held liable for damages?", ["liable to You for damages, including any direct, indirect, special,"]),
 ("Apache-2.0.txt", "Under the Apache License, can I charge for support or a warranty?", ["and charge a fee for, acceptance of support, warranty, indemnity,"]),
 ("Apache-2.0.txt", "Under which terms are the contributions I submit licensed?", ["by You to the Licensor shall be under the terms and conditions of"]),
 ("Apache-2.0.txt", "How do I apply the Apache License to my own project?", ["To apply the Apache License to your work, attach the following"]),
 ("Apache-2.0.txt", "Where can I get a copy of the Apache license?", ["http://www.apache.org/licenses/LICENSE-2.0"]),
 ("Apache-2.0.txt", "What does Legal Entity mean?", ['"Legal Entity" shall mean the union of the acting entity and all']),
 ("Apache-2.0.txt", "Under the Apache License, how much ownership counts as control of an entity?", ["ownership of fifty percent (50%) or more of the"]),
 ("Apache-2.0.txt", "What is object form?", ['"Object" form shall mean any form resulting from mechanical']),
 ("Apache-2.0.txt", "Can I put my own license terms on my modifications?", ["may provide additional or different license terms and conditions"]),
 # ---- MPL-2.0 (fit)
 ("MPL-2.0.txt", "Who is the license steward of the MPL?", ["Mozilla Foundation is the license steward."]),
 ("MPL-2.0.txt", "If I distribute a compiled binary do I have to make the source available?", ["such Covered Software must also be made available in Source Code"]),
 ("MPL-2.0.txt", "How much can I charge for giving people the source code?", ["than the cost of distribution to the recipient"]),
 ("MPL-2.0.txt", "Can I combine MPL code with my own code under another license?", ["You may create and distribute a Larger Work under terms of Your choice,"]),
 ("MPL-2.0.txt", "Am I allowed to remove copyright notices?", ["You may not remove or alter the substance of any license notices"]),
 ("MPL-2.0.txt", "Under the MPL, how long do I have to fix a violation to get my rights back?", ["non-compliance by some reasonable means prior to 60 days after You have", "first time You have received notice of non-compliance with this License"]),
 ("MPL-2.0.txt", "Under the MPL, what happens if I sue a contributor over a patent?", ["alleging that a Contributor Version"]),
 ("MPL-2.0.txt", "where do lawsuits about the license have to be filed", ["courts of a jurisdiction where the defendant maintains its principal"]),
 ("MPL-2.0.txt", "Does the limitation of liability cover death or personal injury?", ["limitation of liability shall not apply to liability for death or"]),
 ("MPL-2.0.txt", "Which licenses are Secondary Licenses?", ["means either the GNU General Public License, Version 2.0, the GNU"]),
 ("MPL-2.0.txt", "When do the license grants take effect?", ["become effective for each Contribution on the date the Contributor first"]),
 ("MPL-2.0.txt", "Can I write my own license based on the MPL?", ["modified version of this License if you rename the license and remove"]),
 ("MPL-2.0.txt", "Where should the notice go if I can't put it in the file itself?", ["file, then You may include the notice in a location (such as a LICENSE"]),
 ("MPL-2.0.txt", "Does the license limit fair use?", ["This License is not intended to limit any rights You have under"]),
 ("MPL-2.0.txt", "What if a law makes it impossible to comply with the license?", ["statute, judicial order, or regulation then You must"]),
 # ---- libtasn1 manual (fit)
 ("libtasn1.txt", "What is libtasn1?", ["which is a library for Abstract Syntax Notation One", "This document describes the Libtasn1 library"]),
 ("libtasn1.txt", "Is the ASN.1 parser case sensitive?", ["The parser is case sensitive."]),
 ("libtasn1.txt", "How do comments work in the definitions file?", ["The comments begin with --"]),
 ("libtasn1.txt", "Can I use C style comments?", ["comments are not supported"]),
 ("libtasn1.txt", "Does libtasn1 support the REAL type?", ["handle the REAL type"]),
 ("libtasn1.txt", "Which license is the library under?", ["Anybody can use, modify, and redistribute the library"]),
 ("libtasn1.txt", "what license do the command line tools use", ["The command line tools, self-tests and build infrastructure are licensed"]),
 ("libtasn1.txt", "Is libtasn1 thread safe?", ["No global variables are used", "Thread-safety."]),
 ("libtasn1.txt", "Which operating systems does it run on?", ["The code should work on all Unix like operating systems, and Windows."]),
 ("libtasn1.txt", "Which header do I include?", ["The header file of this library is libtasn1.h."]),
 ("libtasn1.txt", "How big must the buffer for the error description be?", ["ASN1_MAX_ERROR_DESCRIPTION_SIZE bytes"]),
 ("libtasn1.txt", "What does asn1Coding do?", ["asn1Coding generates a DER encoding from a file"]),
 ("libtasn1.txt", "How do I only check the syntax of a definitions file?", ["checks the syntax only"]),
 ("libtasn1.txt", "How can I decode DER data on the command line?", ["asn1Decoding generates an ASN.1 structure"]),
 ("libtasn1.txt", "Where do I send bug reports?", ["Report bugs to: help-libtasn1@gnu.org"]),
 ("libtasn1.txt", "What does ?LAST mean?", ["The ?LAST name indicates the last element"]),
 # ---- GPL-3 (report)
 ("GPL-3.txt", "When was GPL version 3 released?", ["Version 3, 29 June 2007"]),
 ("GPL-3.txt", "Can I charge money for copies of GPL software?", ["You may charge any price or no price for each copy that you convey,"]),
 ("GPL-3.txt", "How long does a written offer for the source code have to be valid?", ["written offer, valid for at least three years and valid for as"]),
 ("GPL-3.txt", "What is the Corresponding Source?", ['The "Corresponding Source" for a work in object code form means all']),
 ("GPL-3.txt", "Can I modify the program for my own use without releasing my changes?", ["You may make, run and propagate covered works that you do not"]),
 ("GPL-3.txt", "What happens if I break the terms of the GPL?", ["modify it is void, and will automatically terminate your rights under"]),
 ("GPL-3.txt", "under the GPL how long do I have to cure a violation", ["copyright holder, and you cure the violation prior to 30 days after"]),
 ("GPL-3.txt", "What is a user product?", ['A "User Product" is either (1) a "consumer product", which means any']),
 ("GPL-3.txt", "Does the GPL give me a patent license from contributors?", ["Each contributor grants you a non-exclusive, worldwide, royalty-free"]),
 ("GPL-3.txt", "Can I add extra restrictions when I pass a GPL program on?", ["You may not impose any further restrictions on the exercise of the"]),
 ("GPL-3.txt", "Is the output of a GPL program covered by the license?", ["The output from running a"]),
 ("GPL-3.txt", "Does the GPL count as a DRM measure under anti-circumvention laws?", ["No covered work shall be deemed part of an effective technological"]),
 ("GPL-3.txt", "Can I combine GPL code with AGPL code?", ["under version 3 of the GNU Affero General Public License into a single"]),
 ("GPL-3.txt", "What if a court order contradicts the GPL?", ["If conditions are imposed on you (whether by court order, agreement or"]),
 ("GPL-3.txt", "Who can publish new versions of the GPL?", ["The Free Software Foundation may publish revised and/or new versions of"]),
 ("GPL-3.txt", "What does 'or any later version' mean?", ['Public License "or any later version" applies to it, you have the', "If the Document specifies that a particular numbered version of this License"]),
 ("GPL-3.txt", "Does the GPL give any warranty for the program?", ["THERE IS NO WARRANTY FOR THE PROGRAM, TO THE EXTENT PERMITTED BY", "the GPL clearly explains"]),
 ("GPL-3.txt", "How do I apply the GPL to my new program?", ["To do so, attach the following notices to the program."]),
 ("GPL-3.txt", "What should an interactive program show when it starts?", ["If the program does terminal interaction, make it output a short"]),
 ("GPL-3.txt", "What if my employer might own the copyright?", ['if any, to sign a "copyright disclaimer" for the program, if necessary.']),
 ("GPL-3.txt", "Should I use the GPL for a library?", ["If your program is a subroutine library, you"]),
 # ---- LGPL-3 (report)
 ("LGPL-3.txt", "How does the LGPL relate to the GPL?", ["This version of the GNU Lesser General Public License incorporates"]),
 ("LGPL-3.txt", "What is an Application?", ['An "Application" is any work that makes use of an interface provided']),
 ("LGPL-3.txt", "Can my program include the library's header files?", ["a header file that is part of the Library."]),
 ("LGPL-3.txt", "What does the Library mean?", ['"The Library" refers to a covered work governed by this License,']),
 ("LGPL-3.txt", "Can I distribute a combined work under my own terms?", ["You may convey a Combined Work under terms of your choice that,"]),
 ("LGPL-3.txt", "Do I have to tell users that my program uses the library?", ["Give prominent notice with each copy of the Combined Work that"]),
 ("LGPL-3.txt", "Can I put the library together with other libraries in one library?", ["Library side by side in a single library together with other library"]),
 ("LGPL-3.txt", "What if my modified library calls a function the application has to supply?", ["facility refers to a function or data to be supplied by an Application"]),
 # ---- shared-mime-info spec (report)
 ("shared-mime-info.txt", "What version of the spec is this?", ["This is version 0.21"]),
 ("shared-mime-info.txt", "When was the specification last updated?", ["last updated 2 October 2018"]),
 ("shared-mime-info.txt", "Which desktops does the spec unify?", ["This specification attempts to unify the MIME database systems"]),
 ("shared-mime-info.txt", "Does the database store user preferences?", ["The MIME database does NOT store user preferences", "The MIME database is NOT intended to store user preferences."]),
 ("shared-mime-info.txt", "What must an application run after installing its XML file?", ["the application MUST run the update-mime-database command"]),
 ("shared-mime-info.txt", "Which file takes precedence over the others?", ["Any file named Override.xml takes precedence", "information from directories lower in the list takes precedence"]),
 ("shared-mime-info.txt", "what byte order are numbers in the cache file", ["All numbers are in network (big-endian) order."]),
 ("shared-mime-info.txt", "Why do cache files have to be written atomically?", ["Cache files have to be written atomically"]),
 ("shared-mime-info.txt", "Can the type come from an extended attribute?", ["user.mime_type extended attribute"]),
 ("shared-mime-info.txt", "What is the default type for binary data?", ["use the default type of application/octet-stream for binary data"]),
 ("shared-mime-info.txt", "Why are globs checked before magic?", ["First of all doing magic sniffing is very expensive", "There are several reasons for checking the glob patterns before the magic."]),
 ("shared-mime-info.txt", "How do I tell whether a file is binary or text?", ["Checking the first 128 bytes of the file for ASCII control characters"]),
 ("shared-mime-info.txt", "Is text/html a subclass of text/plain?", ["All text/* types are subclasses of text/plain."]),
 ("shared-mime-info.txt", "What is the inode media type for?", ["is provided for this purpose"]),
 ("shared-mime-info.txt", "How can a mount point be detected?", ["Mounted directories can be detected by comparing"]),
 ("shared-mime-info.txt", "What are x-content types for?", ["The x-content type has been introduced for this purpose.", "classifying the content of mountable volumes or filesystems"]),
 ("shared-mime-info.txt", "How are URI scheme handlers registered?", ["x-scheme-handler/foo mime-type"]),
 ("shared-mime-info.txt", "Should an application trust a file because of its MIME type?", ["an application MUST NOT trust a file based simply on its MIME type"]),
]
NEAR = [
 ("Apache-2.0.txt", "Is the Apache License compatible with GPL version 2?"),
 ("Apache-2.0.txt", "When did the Open Source Initiative approve the Apache License?"),
 ("Apache-2.0.txt", "Who founded the Apache Software Foundation?"),
 ("MPL-2.0.txt", "How many projects use the Mozilla Public License?"),
 ("MPL-2.0.txt", "Which Firefox version first shipped under MPL 2.0?"),
 ("MPL-2.0.txt", "Does the MPL apply to fonts?"),
 ("libtasn1.txt", "Which programming languages have bindings for libtasn1?"),
 ("libtasn1.txt", "How fast is the libtasn1 DER decoder?"),
 ("libtasn1.txt", "Does libtasn1 support XER encoding?"),
 ("libtasn1.txt", "Which GnuTLS version first used libtasn1?"),
 ("GPL-3.txt", "Is the GPL compatible with the Apache License?"),
 ("GPL-3.txt", "How many projects are licensed under the GPL?"),
 ("GPL-3.txt", "Who drafted the third version of the GPL?"),
 ("GPL-3.txt", "What fine did a company pay for violating the GPL?"),
 ("LGPL-3.txt", "Which version of the LGPL does glibc use?"),
 ("LGPL-3.txt", "Why did the library license get renamed to Lesser?"),
 ("shared-mime-info.txt", "How many MIME types does the database contain?"),
 ("shared-mime-info.txt", "What is the MIME type of a PNG image?"),
 ("shared-mime-info.txt", "When was the first version of the specification published?"),
 ("shared-mime-info.txt", "How large is a typical mime.cache file?"),
]
OFF = [
 "What is the boiling point of water?", "Who painted the Mona Lisa?", "How many players are on a football team?",
 "What is the capital of Canada?", "When did World War II end?", "How do I bake bread?",
 "Who won the 2018 World Cup?", "What is the tallest mountain in Africa?", "How do I make pancakes?",
 "What year did the Berlin Wall fall?", "What is photosynthesis?", "Who wrote Hamlet?",
]
CONVERSATIONS = [  # two turns each: the second leans on the first ("it", "that", "Why?")
 # ---- fit
 [("Apache-2.0.txt", "Does the Apache License include a patent grant?", ["patent license to make, have made"]),
  ("Apache-2.0.txt", "What happens to it if I sue someone?", ["as of the date such litigation is filed"])],
 [("Apache-2.0.txt", "Do I have to keep the NOTICE file when I redistribute?", ['If the Work includes a "NOTICE" text file as part of its']),
  ("Apache-2.0.txt", "Can I add my own notices to it?", ["You may add Your own attribution"])],
 [("Apache-2.0.txt", "Can I offer a warranty to my customers under the Apache License?", ["and charge a fee for, acceptance of support, warranty, indemnity,"]),
  ("Apache-2.0.txt", "Who is responsible if something goes wrong then?", ["on Your own behalf and on Your sole responsibility, not on behalf"])],
 [("MPL-2.0.txt", "Who is the license steward of the MPL?", ["Mozilla Foundation is the license steward."]),
  ("MPL-2.0.txt", "Can anyone else publish new versions?", ["no one other than the license steward has the right to modify or"])],
 [("MPL-2.0.txt", "If I ship an MPL program as an executable, must I provide the source?", ["such Covered Software must also be made available in Source Code"]),
  ("MPL-2.0.txt", "How much can I charge for that?", ["than the cost of distribution to the recipient"])],
 [("MPL-2.0.txt", "What counts as a Larger Work?", ["means a work that combines Covered Software with other material, in"]),
  ("MPL-2.0.txt", "Can I license it under my own terms?", ["You may create and distribute a Larger Work under terms of Your choice,"])],
 [("libtasn1.txt", "What does asn1Parser do?", ["asn1Parser reads a single file with ASN.1 definitions"]),
  ("libtasn1.txt", "How do I only check the syntax with it?", ["checks the syntax only"])],
 [("libtasn1.txt", "Which header file does libtasn1 use?", ["The header file of this library is libtasn1.h."]),
  ("libtasn1.txt", "What is the main type in it?", ["The main type used in it is asn1_node"])],
 [("libtasn1.txt", "Does libtasn1 support the REAL type?", ["handle the REAL type"]),
  ("libtasn1.txt", "Is it planned?", ["• The REAL type."])],
 [("libtasn1.txt", "What license does libtasn1 use?", ["Anybody can use, modify, and redistribute the library"]),
  ("libtasn1.txt", "And the command line tools?", ["The command line tools, self-tests and build infrastructure are licensed"])],
 # ---- report
 [("GPL-3.txt", "Can I charge for copies of GPL software?", ["You may charge any price or no price for each copy that you convey,"]),
  ("GPL-3.txt", "Can I charge for support too?", ["and you may offer support or warranty protection for a fee"])],
 [("GPL-3.txt", "If I distribute a GPL program as a binary, how do I provide the source?", ["You may convey a covered work in object code form under the terms"]),
  ("GPL-3.txt", "How long must a written offer last?", ["written offer, valid for at least three years and valid for as"])],
 [("GPL-3.txt", "What happens if I violate the GPL?", ["modify it is void, and will automatically terminate your rights under"]),
  ("GPL-3.txt", "Can I get my rights back?", ["However, if you cease all violation of this License, then your"])],
 [("GPL-3.txt", "Who publishes new versions of the GPL?", ["The Free Software Foundation may publish revised and/or new versions of"]),
  ("GPL-3.txt", "What if my program says 'or any later version'?", ['Public License "or any later version" applies to it, you have the'])],
 [("GPL-3.txt", "How do I apply the GPL to my program?", ["To do so, attach the following notices to the program."]),
  ("GPL-3.txt", "And if it is interactive?", ["If the program does terminal interaction, make it output a short"])],
 [("LGPL-3.txt", "What does the LGPL add to the GPL?", ["This version of the GNU Lesser General Public License incorporates"]),
  ("LGPL-3.txt", "What is an Application under it?", ['An "Application" is any work that makes use of an interface provided'])],
 [("LGPL-3.txt", "Can I use the LGPL library's header files in my program?", ["a header file that is part of the Library."]),
  ("LGPL-3.txt", "What must I do if I do that?", ["Give prominent notice with each copy of the object code that the"])],
 [("shared-mime-info.txt", "What byte order does the MIME cache use?", ["All numbers are in network (big-endian) order."]),
  ("shared-mime-info.txt", "Why?", ["This is necessary because the data will be stored in arch-independent"])],
 [("shared-mime-info.txt", "How should the mime.cache file be written?", ["Cache files have to be written atomically"]),
  ("shared-mime-info.txt", "Why?", ["Cache files have to be written atomically"])],
 [("shared-mime-info.txt", "What is checked first, globs or magic?", ["There are several reasons for checking the glob patterns before the magic.", "Otherwise, start by doing a glob match of the filename"]),
  ("shared-mime-info.txt", "Why?", ["First of all doing magic sniffing is very expensive"])],
]
docs = {p.name: p.read_text(encoding="utf-8") for p in (HERE / "articles").glob("*.txt")}
bad = 0
lines = []
for doc, q, answers in Q:
    for a in answers:
        if not any(a in t for t in docs.values()):  # a sentence of any document may answer
            print("MISSING", doc, q, repr(a)); bad += 1
    lines.append({"kind": A, "doc": doc, "question": q, "answers": answers})
for turns in CONVERSATIONS:
    for doc, q, answers in turns:
        for a in answers:
            if not any(a in t for t in docs.values()):
                print("MISSING", doc, q, repr(a)); bad += 1
    lines.append({"kind": "conversation", "turns": [{"doc": d, "question": q, "answers": a} for d, q, a in turns]})
for doc, q in NEAR:
    assert doc in docs
    lines.append({"kind": "unanswerable", "why": "near-topic", "doc": doc, "question": q})
for q in OFF:
    lines.append({"kind": "unanswerable", "why": "off-topic", "question": q})
(HERE / "qa.jsonl").write_text("".join(json.dumps(l, ensure_ascii=False) + "\n" for l in lines), encoding="utf-8")
print(len(Q), "answerable,", len(CONVERSATIONS), "conversations,", len(NEAR), "near,", len(OFF), "off;", bad, "missing")
raise SystemExit(1 if bad else 0)
