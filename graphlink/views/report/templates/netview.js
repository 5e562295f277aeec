(function () {
  // Interactive cluster views: pan (drag the background), zoom (wheel), hover a node for what it shares.
  // Data comes from <script type="application/json"> blocks; text is shown with textContent only.
  if (typeof cytoscape !== "function") { return; }
  var views = document.querySelectorAll("div.netview[data-graph]");
  Array.prototype.forEach.call(views, function (box) {
    var source = document.getElementById(box.getAttribute("data-graph"));
    var tip = document.getElementById(box.getAttribute("data-tip"));
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var legend = document.getElementById(box.getAttribute("data-legend"));
    if (legend) {
      [["account", "#33415c"]].concat(data.kinds).forEach(function (k) {
        var item = document.createElement("span");
        var dot = document.createElement("span");
        dot.className = "swatch";
        dot.style.backgroundColor = k[1];
        item.appendChild(dot);
        item.appendChild(document.createTextNode(k[0]));
        legend.appendChild(item);
      });
    }
    var elements = [];
    data.nodes.forEach(function (n) {
      elements.push({group: "nodes", data: {id: n.id, kind: n.kind, colour: n.colour, size: n.size, tip: n.tip},
                     position: {x: n.x, y: n.y}});
    });
    data.edges.forEach(function (e, i) {
      elements.push({group: "edges", data: {id: "e" + i, source: e[0], target: e[1]}});
    });
    var cy = cytoscape({
      container: box, elements: elements, layout: {name: "preset", fit: true, padding: 20},
      minZoom: 0.1, maxZoom: 8, wheelSensitivity: 0.3, boxSelectionEnabled: false,
      style: [
        {selector: "node", style: {"background-color": "data(colour)", "width": "data(size)", "height": "data(size)",
                                   "border-width": 0}},
        {selector: "node[kind = 'account']", style: {"shape": "ellipse"}},
        {selector: "node[kind != 'account']", style: {"shape": "round-rectangle", "border-width": 1, "border-color": "#fff"}},
        {selector: "edge", style: {"width": 0.6, "line-color": "#9aa5b1", "opacity": 0.6}},
        {selector: "node.hover", style: {"border-width": 3, "border-color": "#111"}}
      ]
    });
    box.graphlinkCy = cy;
    cy.on("mouseover tap", "node", function (evt) {
      cy.nodes().removeClass("hover");
      evt.target.addClass("hover");
      if (tip) { tip.textContent = evt.target.data("tip"); }
    });
    cy.on("mouseout", "node", function (evt) { evt.target.removeClass("hover"); });
  });
})();
