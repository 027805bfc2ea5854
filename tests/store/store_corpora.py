"""Two tiny corpora the store tests build into both stores (animals, and a different topic)."""

ZOO = {
    "penguins.txt": (
        "Penguins of the far south\n\n"
        "Emperor penguins breed on the sea ice of Antarctica during the winter. "
        "The males keep the egg warm on their feet for about two months.\n\n"
        "Little penguins live on the coasts of southern Australia and New Zealand."
    ),
    "camels.txt": (
        "Camels in the desert\n\n"
        "A camel can drink 100 litres of water in ten minutes. "
        "Dromedaries have one hump and Bactrian camels have two."
    ),
}
TOOLS = {
    "tools.txt": (
        "Hand tools\n\n"
        "A chisel cuts wood when struck with a mallet. A plane smooths the surface of a board.\n\n"
        "Saws with fine teeth cut across the grain."
    ),
}
